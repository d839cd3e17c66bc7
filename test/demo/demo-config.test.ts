// The demo's WorkloadEntry port rewrite keeps everything else and fails loudly when it cannot apply.
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { documentsOfKind, SEED000_EXAMPLE, SEED000_RUN, seed000RunFiles, withAppPorts } from '../../host/demo/demo-config.js';
import { loadConfig } from '../../host/config/load-config.js';
import { ConfigManager } from '../../host/control/config-manager.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { ISTIO101 } from '../../host/demo/istio101-scenario.js';
import { BOOKINFO } from '../../host/demo/bookinfo-scenario.js';
import type { Scenario } from '../../host/demo/scenario-mesh.js';

const SERVICES = `# the demo services
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: web
spec:
  hosts: [web]
  ports:
  - number: 5005
    name: http
    protocol: HTTP
  resolution: STATIC
  workloadSelector:
    labels:
      app: web
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: web-v1
spec:
  address: 127.0.0.1
  ports:
    http: 15101 # v1
  labels:
    app: web
    version: v1
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: web-v2
spec:
  address: 127.0.0.1
  ports:
    http: 15102
  labels:
    app: web
    version: v2
`;

describe('withAppPorts', () => {
  it('points each version at its port and leaves the rest alone', () => {
    const out = withAppPorts(SERVICES, { v1: 40001, v2: 40002 });
    const docs = parseAllDocuments(out).map((d) => d.toJS());
    expect(docs).toHaveLength(3);
    expect(docs[0].spec.ports[0].number).toBe(5005);
    expect(docs[1].spec.ports.http).toBe(40001);
    expect(docs[2].spec.ports.http).toBe(40002);
    expect(out).toContain('# the demo services');
    expect(out).toContain('# v1');
  });

  it('fails when a version has no WorkloadEntry or an entry has no ports', () => {
    expect(() => withAppPorts(SERVICES, { v3: 1 })).toThrow(/no WorkloadEntry with label version: v3/);
    const noPorts = SERVICES.replace('  ports:\n    http: 15102\n', '');
    expect(() => withAppPorts(noPorts, { v2: 1 })).toThrow(/web-v2 has no spec.ports/);
  });
});

const SEED000 = join('examples', '000-web-demo');

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** What one of the demo's proxies logs and shows as warnings when it loads `sources`. */
function proxyWarnings(sources: string[], options: { gateway?: string; labels?: Record<string, string>; allowUnenforcedSecurity?: boolean }): { warnings: string[]; mesh: MeshConfig } {
  const logged: string[] = [];
  const m = new ConfigManager({ sources, ...options, target: { apply: () => {} }, load: loadConfig, log: (level, msg) => level === 'warn' && logged.push(msg) });
  const loaded = m.start();
  m.close();
  expect(m.dump().warnings).toEqual(logged);
  return { warnings: logged, mesh: loaded.mesh };
}

function splitOf(mesh: MeshConfig): string[] {
  return mesh.virtualHosts.flatMap((vh) => vh.routes.flatMap((r) => r.destinations.map((d) => `${d.cluster.split('|')[2]} ${d.weight}`)));
}

describe("the demos' own config", () => {
  it('seed 000: the run folder loads without a warning, before and after the switch to 5/95', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-demo-config-'));
    dirs.push(dir);
    const files = seed000RunFiles(SEED000, { v1: 40001, v2: 40002 });
    expect(files.map(([name]) => name)).toEqual([SEED000_RUN.services, SEED000_RUN.gateway, SEED000_RUN.split]);
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    const first = proxyWarnings([dir], { gateway: 'web-gateway' });
    expect(first.warnings).toEqual([]);
    expect(splitOf(first.mesh)).toEqual(['v1 80', 'v2 20']);
    expect(first.mesh.clusters.flatMap((c) => c.endpoints.map((e) => e.port)).sort()).toEqual([40001, 40001, 40002, 40002]);
    // The switch the demo prints.
    copyFileSync(join(SEED000, SEED000_EXAMPLE.split5), join(dir, SEED000_RUN.split));
    const switched = proxyWarnings([dir], { gateway: 'web-gateway' });
    expect(switched.warnings).toEqual([]);
    expect(splitOf(switched.mesh)).toEqual(['v1 5', 'v2 95']);
  });

  it('seed 000 at the default ports keeps the services file as written', () => {
    const files = new Map(seed000RunFiles(SEED000, { v1: 15101, v2: 15102 }));
    expect(files.get(SEED000_RUN.services)).toContain('# What stands in for the seed');
    expect(files.get(SEED000_RUN.gateway)).toMatch(/^# The Gateway of 02-web-demo-service-gateway\.yaml/);
    expect(parseAllDocuments(files.get(SEED000_RUN.gateway)!).map((d) => d.get('kind'))).toEqual(['Gateway']);
  });

  // The seeds' YAML is kept unchanged (examples/README.md), and what it says that wasmesh does
  // not serve is reported: those warnings are the seeds', not the demos' file sets. Each proxy
  // of the scenario (the gateway and every sidecar, with its labels) loads with those alone.
  const SEED_WARNINGS: Record<string, RegExp[]> = {
    // ISTIO_MUTUAL runs unenforced in this demo (as --allow-unenforced-security), and says so.
    istio101: [/DestinationRule default\/frontend: spec\.trafficPolicy\.tls.*NOT ENFORCED/, /DestinationRule default\/middleware: spec\.trafficPolicy\.tls.*NOT ENFORCED/, /DestinationRule default\/backend: spec\.trafficPolicy\.tls.*NOT ENFORCED/],
    bookinfo: [/DestinationRule default\/ratings: spec\.trafficPolicy\.outlierDetection\.consecutiveErrors/],
  };
  for (const scenario of [ISTIO101, BOOKINFO] as Scenario[]) {
    it(`${scenario.name}: every proxy loads with the seed's own warnings only`, () => {
      const sources = scenario.files.map((f) => join(scenario.example, f));
      const allowUnenforcedSecurity = scenario.unenforcedSecurity !== undefined;
      const proxies = [{ gateway: scenario.gateway, allowUnenforcedSecurity }, ...scenario.apps.filter((a) => a.sidecar).map((a) => ({ labels: a.labels, allowUnenforcedSecurity }))];
      for (const options of proxies) {
        const { warnings, mesh } = proxyWarnings(sources, options);
        expect(mesh.virtualHosts.length).toBeGreaterThan(0);
        expect(warnings).toHaveLength(SEED_WARNINGS[scenario.name].length);
        SEED_WARNINGS[scenario.name].forEach((re, i) => expect(warnings[i]).toMatch(re));
      }
    });
  }
});

describe('documentsOfKind', () => {
  it('keeps the documents of one kind with their comments, and fails naming the file when there is none', () => {
    const text = '# top\nkind: Gateway\nmetadata: {name: a}\n---\nkind: VirtualService\nmetadata: {name: b}\n---\n# gw2\nkind: Gateway\nmetadata: {name: c}\n';
    const out = documentsOfKind(text, 'Gateway', 'x.yaml');
    expect(parseAllDocuments(out).map((d) => d.get('metadata') && (d.toJS() as { metadata: { name: string } }).metadata.name)).toEqual(['a', 'c']);
    expect(out).toContain('# gw2');
    expect(() => documentsOfKind(text, 'ServiceEntry', 'x.yaml')).toThrow(/x\.yaml has no ServiceEntry/);
  });
});
