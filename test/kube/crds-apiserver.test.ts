// The generated CRDs (host/kube/istio-crds.ts) against a real kube-apiserver: accepted and
// Established; every Istio resource of the seeds (examples/, test/config/fixtures/) applied
// with kubectl's default strict field validation; and bad fields refused by the API server with
// a message that names the field.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { istioCrds } from '../../host/kube/istio-crds.js';
import { ISTIO_GROUPS } from '../../host/config/api-kinds.js';
import { kubeUnavailableReason, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';

const unavailable = kubeUnavailableReason();
if (unavailable !== null) console.warn(`kube CRD tests skipped: ${unavailable}`);

interface SeedDoc {
  where: string;
  doc: Record<string, unknown>;
}

/** Every document of a kind wasmesh reads, from every YAML file under `dirs`. */
function istioDocuments(dirs: readonly string[]): SeedDoc[] {
  const out: SeedDoc[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name)) {
        parseAllDocuments(readFileSync(path, 'utf8')).forEach((d, i) => {
          const doc = d.toJS() as Record<string, unknown> | null;
          if (doc === null || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') return;
          const group = doc.apiVersion.split('/')[0]!;
          if (ISTIO_GROUPS[group]?.kinds[doc.kind] === 'read') out.push({ where: `${path} document ${i + 1}`, doc });
        });
      }
    }
  };
  for (const d of dirs) walk(d);
  return out;
}

describe.skipIf(unavailable !== null)('the generated CRDs in a real API server', () => {
  let kube: KubeCluster;
  beforeAll(async () => {
    kube = await startKubeCluster();
    // Too large for client-side apply's last-applied annotation (256 KiB): server-side, as the command's help says.
    const crds = istioCrds().map((g) => g.crd);
    const r = kube.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }));
    if (r.status !== 0) throw new Error(`kubectl apply of the CRDs failed: ${r.stderr}`);
  }, 120_000);
  afterAll(async () => {
    await kube?.stop();
  });

  it('accepts every CRD, each becomes Established with its names and versions served', () => {
    const crds = istioCrds().map((g) => g.crd);
    const wait = kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((c) => `crd/${c.metadata.name}`)]);
    expect(wait.stderr).toBe('');
    expect(wait.status).toBe(0);
    const resources = kube.kubectl(['api-resources', '--api-group=networking.istio.io', '-o', 'wide', '--no-headers']);
    expect(resources.stdout).toMatch(/^virtualservices\s+vs\s+networking\.istio\.io\/v1\s+true\s+VirtualService/m);
    expect(resources.stdout).toMatch(/^destinationrules\s+dr\s/m);
    expect(resources.stdout).toMatch(/^serviceentries\s+se\s/m);
    // The categories work as Istio's do: `kubectl get istio-io` lists every Istio kind.
    expect(kube.kubectl(['get', 'istio-io', '-A']).status).toBe(0);
    for (const c of crds) {
      const served = kube.kubectl(['get', 'crd', c.metadata.name, '-o', 'jsonpath={.status.storedVersions}']);
      expect(served.stdout, c.metadata.name).toBe(`["${c.spec.versions.find((v) => v.storage)!.name}"]`);
    }
  });

  it('applies every Istio resource of the seeds (examples/ and the seed fixtures) with strict field validation', () => {
    const docs = istioDocuments(['examples', 'test/config/fixtures']);
    // The seeds carry VirtualServices, DestinationRules, Gateways, ServiceEntries, WorkloadEntries,
    // PeerAuthentications, AuthorizationPolicies and a RateLimitPolicy.
    expect(new Set(docs.map((d) => d.doc.kind)).size).toBeGreaterThanOrEqual(7);
    const namespaces = new Set(docs.map((d) => ((d.doc.metadata as { namespace?: string }).namespace ?? 'default')));
    for (const ns of namespaces) if (ns !== 'default') kube.kubectl(['create', 'namespace', ns]);
    // One kubectl for all of them (a process per document takes longer than the test's timeout on
    // a loaded machine); when it refuses any, each document again alone, to say which file.
    const all = kube.kubectl(['apply', '--validate=strict', '-f', '-'], docs.map(({ doc }) => JSON.stringify(doc)).join('\n'));
    const failed: string[] = [];
    if (all.status !== 0) {
      for (const { where, doc } of docs) {
        const r = kube.kubectl(['apply', '--validate=strict', '-f', '-'], JSON.stringify(doc));
        if (r.status !== 0) failed.push(`${where}: ${r.stderr.trim()}`);
      }
      if (failed.length === 0) failed.push(`all together: ${all.stderr.trim()}`);
    }
    expect(failed).toEqual([]);
    expect(all.stdout.split('\n').filter(Boolean).length).toBe(docs.length);
    // And they read back under each served version (same schema, no conversion).
    const vs = kube.kubectl(['get', 'virtualservices.v1beta1.networking.istio.io', '-A', '-o', 'name']);
    expect(vs.stdout.split('\n').filter(Boolean).length).toBeGreaterThan(3);
  });

  it('takes seed 004\'s manifests as they are, and its file-mode EndpointSlices once their loopback address is a real one', () => {
    const apps = kube.kubectl(['apply', '-f', 'examples/004-envoy-demo/envoy-demo-apps.yaml']);
    expect(apps.stderr).toBe('');
    expect(apps.status).toBe(0);
    // The API server refuses loopback endpoints (a pod never has one); the file-mode loader takes
    // them on purpose, since on one machine the instances listen on 127.0.0.1.
    const slices = readFileSync('examples/004-envoy-demo/01-endpoint-slices.yaml', 'utf8');
    const loopback = kube.kubectl(['apply', '-f', '-'], slices);
    expect(loopback.status).not.toBe(0);
    expect(loopback.stderr).toMatch(/endpoints\[0\]\.addresses\[0\]: Invalid value: "127\.0\.0\.1": may not be in the loopback range/);
    // TEST-NET-1 (never routed; nothing is sent to it): otherwise the same objects.
    const real = kube.kubectl(['apply', '-f', '-'], slices.replaceAll('127.0.0.1', '192.0.2.10'));
    expect(real.stderr).toBe('');
    expect(real.status).toBe(0);
    const read = kube.kubectl(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=customers', '-o', 'jsonpath={.items[*].ports[0].port} {.items[*].endpoints[0].targetRef.name}']);
    expect(read.stdout).toBe('3000 customers-v1-7d9f8-x2k4p');
  });

  it('refuses an unknown field, naming it', () => {
    const r = kube.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'typo', namespace: 'default' },
      spec: { hosts: ['reviews'], http: [{ rout: [{ destination: { host: 'reviews' } }] }] },
    }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown field "spec\.http\[0\]\.rout"/);
  });

  it('refuses a wrong field type, naming the field and the type', () => {
    const r = kube.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'bad-timeout', namespace: 'default' },
      spec: { hosts: ['reviews'], http: [{ timeout: 2, route: [{ destination: { host: 'reviews' } }] }] },
    }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.http\[0\]\.timeout: Invalid value: "integer": spec\.http\[0\]\.timeout in body must be of type string/);
    const port = kube.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'bad-port', namespace: 'default' },
      spec: { hosts: ['example.com'], ports: [{ number: 70000, name: 'http', protocol: 'HTTP' }] },
    }));
    expect(port.status).not.toBe(0);
    expect(port.stderr).toMatch(/spec\.ports\[0\]\.number: Invalid value: 70000: spec\.ports\[0\]\.number in body should be less than or equal to 65535/);
    const mode = kube.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'bad-mode', namespace: 'default' },
      spec: { mtls: { mode: 'STRICTER' } },
    }));
    expect(mode.status).not.toBe(0);
    expect(mode.stderr).toMatch(/spec\.mtls\.mode: Unsupported value: "STRICTER": supported values: "UNSET", "DISABLE", "PERMISSIVE", "STRICT"/);
  });

  it('a required field is required under either of its names (sniHosts or sni_hosts)', () => {
    const base = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { namespace: 'default' } };
    const missing = kube.kubectl(['apply', '-f', '-'], JSON.stringify({ ...base, metadata: { ...base.metadata, name: 'tls-missing' }, spec: { hosts: ['a.example'], tls: [{ match: [{ port: 443 }] }] } }));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/spec\.tls\[0\]\.match\[0\]: Invalid value: "object": sniHosts is required/);
    const proto = kube.kubectl(['apply', '-f', '-'], JSON.stringify({ ...base, metadata: { ...base.metadata, name: 'tls-proto' }, spec: { hosts: ['a.example'], tls: [{ match: [{ sni_hosts: ['a.example'] }] }] } }));
    expect(proto.stderr).toBe('');
    expect(proto.status).toBe(0);
  });
});
