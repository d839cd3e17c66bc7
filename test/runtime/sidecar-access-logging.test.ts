// Access logs configured by meshConfig and the Telemetry API, written by a real sidecar: a request
// into the workload and the app's call out give one line per listener in each log, in Istio's
// default TEXT format (meshConfig accessLogFile) and as JSON (an envoyFileAccessLog provider with
// labels); a response.code filter keeps only the failing requests.
import { afterAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { loadConfig } from '../../host/config/load-config.js';
import { request } from '../helpers/http-client.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

const listen = async (s: http.Server): Promise<number> => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => s.close(r)));
  return (s.address() as AddressInfo).port;
};

/** A sidecar in front of an app that calls a backend through it (paths: `/ok` answers 200, others 404); the requests sent in. */
async function run(yaml: (dir: string) => string, paths: readonly string[]): Promise<string> {
  const backendPort = await listen(http.createServer((req, res) => res.writeHead(req.url === '/ok' ? 200 : 404).end('backend')));
  let outboundPort = 0;
  const appPort = await listen(http.createServer((req, res) => {
    void request(outboundPort, { path: req.url ?? '/', headers: { host: 'backend.default.svc.cluster.local', 'user-agent': 'app/1' } }).then((r) => res.writeHead(r.status).end(`app -> ${r.body.toString()}`));
  }));
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-access-log-'));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mesh.yaml'), `${yaml(dir)}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backend}
spec:
  hosts: [backend.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${backendPort}}}]
`);
  const sidecar = await startSidecarRuntime({
    sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort], accessLog: () => {}, log: () => {},
    load: (sources, options) => loadConfig(sources, options),
  });
  outboundPort = sidecar.ports.outbound;
  for (const p of paths) await request(sidecar.ports.inbound, { path: p, headers: { host: `app:${appPort}`, 'user-agent': 'curl/8', 'x-request-id': `rid${p.replace('/', '-')}` } });
  await sidecar.close();
  return dir;
}

const read = (dir: string, file: string): string[] => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l !== '') : []);

// Istio's default TEXT format, as Envoy fills it for a request that reached its upstream.
const DEFAULT_LINE = /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET (\/\S*) HTTP\/1\.1" (\d{3}) (\S+) - - "-" (\d+) (\d+) (\d+) (\d+) "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "(127\.0\.0\.1:\d+)" (\S+) - (\S+) 127\.0\.0\.1 - (\S+)$/;

describe('access logs from meshConfig and Telemetry', () => {
  it('TEXT (default format) and JSON lines, one per listener', async () => {
    const dir = await run((d) => `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    accessLogFile: ${d}/text.log
    extensionProviders:
    - name: json
      envoyFileAccessLog:
        path: ${d}/json.log
        logFormat:
          labels:
            code: "%RESPONSE_CODE%"
            method: "%REQ(:METHOD)%"
            path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
            ua: "%REQ(USER-AGENT)%"
            cluster: "%UPSTREAM_CLUSTER%"
            rid: "%REQ(X-REQUEST-ID)%"
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging:
  - providers: [{name: envoy}, {name: json}]
`, ['/ok']);
    const text = read(dir, 'text.log');
    expect(text).toHaveLength(2);
    const parsed = text.map((l) => {
      const m = DEFAULT_LINE.exec(l);
      expect(m, l).not.toBeNull();
      return m!;
    });
    // Outbound (the app's call) ends first: its line is written before the inbound one.
    const [out, inb] = parsed;
    expect(out![1]).toBe('/ok');
    expect(out![2]).toBe('200');
    expect(out![9]).toBe('app/1');
    expect(out![11]).toBe('backend.default.svc.cluster.local');
    expect(out![13]).toBe('outbound|80||backend.default.svc.cluster.local');
    expect(inb![9]).toBe('curl/8');
    expect(inb![10]).toBe('rid-ok');
    expect(inb![13]).toMatch(/^inbound\|\d+\|\|$/);
    const json = read(dir, 'json.log').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json).toHaveLength(2);
    expect(json[0]).toEqual({ code: 200, method: 'GET', path: '/ok', ua: 'app/1', cluster: 'outbound|80||backend.default.svc.cluster.local', rid: expect.any(String) });
    expect(json[1]).toMatchObject({ code: 200, ua: 'curl/8', rid: 'rid-ok' });
  });

  it('a response.code filter keeps the failing requests; SERVER mode logs only the inbound listener', async () => {
    const dir = await run((d) => `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    accessLogFile: ${d}/text.log
    accessLogEncoding: JSON
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging:
  - match: {mode: SERVER}
    filter: {expression: "response.code >= 400"}
  - match: {mode: CLIENT}
    disabled: true
`, ['/ok', '/missing', '/ok']);
    const lines = read(dir, 'text.log').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ response_code: 404, path: '/missing', user_agent: 'curl/8', method: 'GET', request_id: 'rid-missing' });
    expect(lines[0]!['upstream_cluster']).toMatch(/^inbound\|/);
  });
});
