// A sidecar programmed over xDS (`wasmesh sidecar --xds`, in process, from the control plane's
// wasmesh resource) serves meshConfig and Telemetry settings as one reading the files would:
//   - pathNormalization MERGE_SLASHES: an AuthorizationPolicy DENY on `/admin` also refuses
//     `//admin` and `/a/..//admin` (lost, it would be BASE, and those reach the app: a bypass);
//   - outboundTrafficPolicy REGISTRY_ONLY: a host the mesh does not know gets 502 from block_all,
//     and the capture side's policy is REGISTRY_ONLY (lost, it would pass through: fails open);
//   - a Telemetry access-log provider (envoyFileAccessLog): lines for the outbound call and the
//     inbound request (lost, nothing is logged).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { sidecarIdentity, startDemoControlPlane, untilProgrammed, type DemoControlPlane } from '../../host/demo/demo-control-plane.js';
import { freePort } from '../../host/common/free-port.js';
import { request } from '../helpers/http-client.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const quiet = () => {};

const yaml = (dir: string, backendPort: number) => `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    pathNormalization: {normalization: MERGE_SLASHES}
    outboundTrafficPolicy: {mode: REGISTRY_ONLY}
    extensionProviders:
    - name: json
      envoyFileAccessLog:
        path: ${dir}/json.log
        logFormat: {labels: {code: "%RESPONSE_CODE%", path: "%REQ(:PATH)%", cluster: "%UPSTREAM_CLUSTER%"}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging: [{providers: [{name: json}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin", "/admin/*"]}}]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backend, namespace: default}
spec:
  hosts: [backend.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${backendPort}}}]
`;

describe('a sidecar over xDS serves the meshConfig and Telemetry settings of its view', () => {
  const closers: Array<() => Promise<unknown>> = [];
  const seen: string[] = [];
  let outside = 0;
  let dir = '';
  let appPort = 0;
  let sidecar: SidecarRuntime;

  const listen = async (s: Server): Promise<number> => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => s.close(r)));
    return (s.address() as AddressInfo).port;
  };

  beforeAll(async () => {
    const backendPort = await listen(createServer((req, res) => res.end(`backend ${req.url}`)));
    outside = await listen(createServer((_req, res) => res.end('outside')));
    appPort = await listen(createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('app');
    }));
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-xds-settings-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'mesh.yaml'), yaml(dir, backendPort));
    const cp: DemoControlPlane = await startDemoControlPlane({ runDir: dir, xds: { host: '127.0.0.1', port: await freePort('127.0.0.1') }, monitoring: LOOPBACK, allowUnenforcedSecurity: false, log: quiet });
    closers.push(() => cp.close());
    sidecar = await startSidecarRuntime({
      sources: [], xds: cp.xds, xdsIdentity: sidecarIdentity('web-1', { app: 'web' }), xdsBackoff: { baseMs: 50, maxMs: 200 },
      outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort], accessLog: quiet, log: quiet,
    });
    closers.push(() => sidecar.close());
    await untilProgrammed(cp, [{ role: 'sidecar', runtime: sidecar }]);
  });

  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });

  const inbound = (path: string) => request(sidecar.ports.inbound, { path, headers: { host: `app:${appPort}` } });

  it('pathNormalization MERGE_SLASHES: the DENY on /admin refuses //admin and /a/..//admin; the app sees normalized paths', async () => {
    expect((await inbound('/admin')).status).toBe(403);
    const merged = await inbound('//admin');
    expect(merged.status).toBe(403);
    expect(merged.body.toString()).toBe('RBAC: access denied');
    expect((await inbound('/a/..//admin/x')).status).toBe(403);
    expect((await inbound('/public//page')).status).toBe(200);
    expect(seen).toEqual(['/public/page']);
  });

  it('outboundTrafficPolicy REGISTRY_ONLY: an unknown host is 502 from block_all, never reached; a known one is', async () => {
    const unknown = await request(sidecar.ports.outbound, { headers: { host: `127.0.0.1:${outside}` } });
    expect(unknown.status).toBe(502);
    expect(unknown.body.toString()).not.toContain('outside');
    const known = await request(sidecar.ports.outbound, { path: '/k', headers: { host: 'backend.default.svc.cluster.local' } });
    expect(known.body.toString()).toBe('backend /k');
    // What the original-destination capture (TCP to unknown addresses) decides by.
    expect(sidecar.manager.current?.mesh.outboundTrafficPolicy).toBe('REGISTRY_ONLY');
  });

  it('a Telemetry access-log provider writes a line per request on both listeners', async () => {
    const file = join(dir, 'json.log');
    const lines = async (): Promise<Array<Record<string, unknown>>> => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) : []);
    await request(sidecar.ports.outbound, { path: '/logged', headers: { host: 'backend.default.svc.cluster.local' } });
    await inbound('/in-logged');
    // The earlier tests' requests are logged too (written asynchronously): these two by path.
    const ours = async () => (await lines()).filter((l) => l.path === '/logged' || l.path === '/in-logged');
    for (let i = 0; i < 50 && (await ours()).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const got = await ours();
    expect(got).toEqual([
      { code: 200, path: '/logged', cluster: 'outbound|80||backend.default.svc.cluster.local' },
      { code: 200, path: '/in-logged', cluster: expect.stringMatching(/^inbound\|/) },
    ]);
  });
});
