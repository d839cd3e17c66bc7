// Injection and the sidecar's prober together: kube-inject rewrites a Deployment's probes (a
// named httpGet port, a tcpSocket), and a real `wasmesh sidecar` process given the injected
// ISTIO_KUBE_APP_PROBERS (as docker/entrypoint.sh passes it, --app-probers) answers the kubelet's
// rewritten probe paths on its merged-stats port by probing a real app on loopback: 200 while
// the app is ready, 500 when it answers 503, and when it is gone.
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubeInject } from '../../host/kube/kube-inject.js';
import { defaultInjectDefaults } from '../../host/kube/injection-settings.js';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';

async function freePort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let app: Server;
let appPort = 0;
let ready = true;
beforeAll(async () => {
  await ensureBuilt();
  app = createServer((req, res) => res.writeHead(req.url === '/ready' && ready ? 200 : 503).end());
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
}, 300_000);
afterAll(() => new Promise<void>((r) => (app.listening ? app.close(() => r()) : r())));

describe('kube-inject probe rewrite + wasmesh sidecar --app-probers', () => {
  it('the kubelet\'s rewritten probes reach the app through the sidecar\'s 15020 prober', async () => {
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{
        name: 'web', image: 'web', ports: [{ containerPort: appPort, name: 'http' }],
        readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
        livenessProbe: { tcpSocket: { port: appPort } },
      }] } } },
    };
    const out = parse(kubeInject(stringify(deployment), 'web.yaml', defaultInjectDefaults('wasmesh/proxy:test')).yaml);
    const [web, proxy] = out.spec.template.spec.containers;
    expect(web.readinessProbe.httpGet).toEqual({ path: '/app-health/web/readyz', port: 15020, scheme: 'HTTP' });
    const probers = proxy.env.find((e: { name: string }) => e.name === 'ISTIO_KUBE_APP_PROBERS').value as string;
    const msPort = await freePort();
    const proc = new WasmeshProcess([
      'sidecar', '-f', 'examples/000-web-demo', '--app-ports', String(appPort), '--outbound', '127.0.0.1:0', '--inbound', '127.0.0.1:0',
      '--health', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--stats', 'off', '--access-log', 'off', '--merged-stats', `127.0.0.1:${msPort}`, '--app-probers', probers,
    ]);
    try {
      await proc.waitFor(/wasmesh sidecar: outbound on/);
      // The kubelet probes 15020 in the pod; here the merged-stats port stands in for it.
      const probe = async (path: string) => {
        const r = await fetch(`http://127.0.0.1:${msPort}${path}`);
        return [r.status, await r.text()];
      };
      expect(await probe(web.readinessProbe.httpGet.path)).toEqual([200, 'ok\n']);
      expect(await probe(web.livenessProbe.httpGet.path)).toEqual([200, 'ok\n']);
      ready = false;
      expect(await probe(web.readinessProbe.httpGet.path)).toEqual([500, `app answered 503 on port ${appPort} /ready\n`]);
      await new Promise<void>((r) => app.close(() => r()));
      const [status, body] = await probe(web.livenessProbe.httpGet.path);
      expect(status).toBe(500);
      expect(body).toMatch(/ECONNREFUSED/);
      expect((await probe('/app-health/other/readyz'))[0]).toBe(404);
    } finally {
      await proc.stop();
    }
  }, 60_000);
});
