// The warning for a proxy the config gives nothing to serve: each case over real YAML loads,
// and through ConfigManager (logged and dumped like the load's own warnings, at start and on
// every reload that lands in that state).
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { servesNothingWarning, type ProxyView } from '../../host/control/serves-nothing-warning.js';
import { ConfigManager } from '../../host/control/config-manager.js';
import { loadConfig } from '../../host/config/load-config.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../helpers/seed-000-yaml.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const GATEWAY = (name: string) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["web.example.com"]
`;

const VS = (name: string, hosts: string, gateways?: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${hosts}]
${gateways === undefined ? '' : `  gateways: [${gateways}]\n`}  http:
  - route:
    - destination: {host: web}
`;

function warningFor(files: Record<string, string>, view: ProxyView): string | null {
  const t = tempYaml(files);
  dirs.push(t.dir);
  return servesNothingWarning(loadConfig([t.dir], view), view);
}

describe('servesNothingWarning', () => {
  it('mesh mode, every VirtualService bound to a Gateway and no ServiceEntry: names them and the flag', () => {
    const w = warningFor({ 'a.yaml': `${GATEWAY('web-gateway')}---\n${VS('web', '"web.example.com"', 'web-gateway')}` }, {});
    expect(w).toBe(
      'this proxy serves nothing in mesh mode (no --gateway; namespace default, labels none): every request will pass through to the address its authority names (outboundTrafficPolicy ALLOW_ANY, PassthroughCluster). ' +
        'It loaded 1 file(s): 1 Gateway, 1 VirtualService; every VirtualService bound to a Gateway is served by a proxy run with --gateway ' +
        '(default/web → web-gateway): run with --gateway web-gateway to serve it; no ServiceEntry defines a host to forward to.',
    );
  });

  it('mesh mode with a ServiceEntry forwards to it: no warning', () => {
    expect(warningFor({ 'a.yaml': `${WEB_SERVICE}---\n${VS('web', '"web.example.com"', 'web-gateway')}` }, {})).toBeNull();
  });

  it("mesh mode, rules that name other sourceLabels than the proxy's: says so with the proxy's labels", () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match:
    - sourceLabels: {app: productpage}
    route:
    - destination: {host: reviews}
`;
    const w = warningFor({ 'a.yaml': vs }, { labels: { app: 'ratings' } });
    expect(w).toContain('in mesh mode (no --gateway; namespace default, labels app=ratings)');
    expect(w).toContain("no rule of the mesh's VirtualServices (default/reviews) applies to this proxy: check their hosts, sourceLabels, sourceNamespace and per-match gateways");
    expect(w).toContain('no ServiceEntry defines a host to forward to');
  });

  it('a Gateway no VirtualService is bound to: lists where the VirtualServices are bound', () => {
    const files = { 'a.yaml': `${WEB_SERVICE}---\n${GATEWAY('web-gateway')}---\n${GATEWAY('other')}---\n${VS('web', '"web.example.com"', 'web-gateway')}---\n${VS('api', 'web')}` };
    const w = warningFor(files, { gateway: 'other' });
    expect(w).toBe(
      'this proxy serves nothing as Gateway default/other (--gateway): every request will get 404 (NR). It loaded 1 file(s): 1 ServiceEntry, 2 WorkloadEntries, 2 Gateways, 2 VirtualServices; ' +
        'no VirtualService is bound to it; the VirtualServices loaded are bound elsewhere: default/web (web-gateway), default/api (mesh).',
    );
    expect(warningFor(files, { gateway: 'web-gateway' })).toBeNull();
  });

  it('VirtualServices bound to the Gateway whose hosts none of its servers serve', () => {
    const w = warningFor({ 'a.yaml': `${WEB_SERVICE}---\n${GATEWAY('web-gateway')}---\n${VS('web', '"api.example.com"', 'web-gateway')}` }, { gateway: 'web-gateway' });
    expect(w).toContain('VirtualServices bound to it: default/web, but none of their hosts is served by its HTTP servers (see the warnings above)');
  });

  it('reads only what host/config dumps (other loaders: no Istio resource), and a Gateway that is not loaded', () => {
    const mesh = { virtualHosts: [], clusters: [] };
    expect(servesNothingWarning({ resources: ['x'], mesh, files: ['/a.yaml'] }, {})).toContain('It loaded 1 file(s), no Istio resource in them; no VirtualService is loaded; no ServiceEntry defines a host to forward to.');
    const resources = [{ kind: 'Gateway', namespace: 'default', name: 'a', spec: {} }];
    expect(servesNothingWarning({ resources, mesh, files: [] }, { gateway: 'istio-system/b' })).toContain('no Gateway istio-system/b is loaded (loaded: default/a)');
  });
});

describe('ConfigManager and the serves-nothing warning', () => {
  it('logs and dumps it at start, drops it when a change gives the proxy routes, and warns again when one takes them away', () => {
    const t = tempYaml({ 'a.yaml': `${GATEWAY('web-gateway')}---\n${VS('web', '"web.example.com"', 'web-gateway')}` });
    dirs.push(t.dir);
    const logs: string[] = [];
    const m = new ConfigManager({ sources: [t.dir], target: { apply: () => {} }, load: loadConfig, log: (level, msg) => logs.push(`${level}: ${msg}`) });
    m.start();
    const idle = /^warn: this proxy serves nothing in mesh mode/;
    expect(logs.filter((l) => idle.test(l))).toHaveLength(1);
    expect(m.dump().warnings.some((w) => w.startsWith('this proxy serves nothing'))).toBe(true);

    writeFileSync(join(t.dir, 'b.yaml'), WEB_SERVICE);
    expect(m.reload('test')).toBe('applied');
    expect(m.dump().warnings).toEqual([]);
    expect(logs.filter((l) => idle.test(l))).toHaveLength(1);

    rmSync(join(t.dir, 'b.yaml'));
    expect(m.reload('test')).toBe('applied');
    expect(logs.filter((l) => idle.test(l))).toHaveLength(2);
    expect(m.dump().warnings).toHaveLength(1);
    m.close();
  });
});
