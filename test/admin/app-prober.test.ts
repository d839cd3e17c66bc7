// Istio's app prober on the merged-stats port (host/admin/app-prober.ts): the kubelet's
// rewritten probe GET /app-health/<container>/<kind> runs the original httpGet / tcpSocket probe
// against a real app on loopback and answers 200 or 500; unknown paths 404; bad
// ISTIO_KUBE_APP_PROBERS refused with the entry named.
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProber, parseAppProbers } from '../../host/admin/app-prober.js';
import { MergedStatsPort } from '../../host/admin/merged-stats-port.js';

let app: Server;
let appPort: number;
let seen: { path: string; headers: Record<string, unknown> }[] = [];
let deadPort: number;

beforeAll(async () => {
  app = createHttpServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    if (req.url === '/ok') res.writeHead(200).end('fine');
    else if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
    else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), 1500);
    else res.writeHead(503).end('not ready');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
  // A port nothing listens on: bind, note it, close.
  const tmp = createTcpServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  deadPort = (tmp.address() as AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
});
afterAll(() => new Promise<void>((r) => app.close(() => r())));

const probers = () => new AppProber(parseAppProbers(JSON.stringify({
  '/app-health/web/readyz': { httpGet: { path: '/ok', port: appPort, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] }, timeoutSeconds: 1 },
  '/app-health/web/livez': { httpGet: { path: '/broken', port: appPort } },
  '/app-health/web/startupz': { httpGet: { path: '/moved', port: appPort, scheme: 'HTTP' } },
  '/app-health/slow/readyz': { httpGet: { path: '/slow', port: appPort }, timeoutSeconds: 0.3 },
  '/app-health/tcp/livez': { tcpSocket: { port: appPort } },
  '/app-health/dead/livez': { tcpSocket: { port: deadPort } },
  '/app-health/dead/readyz': { httpGet: { path: '/', port: deadPort } },
})));

describe('AppProber', () => {
  it('httpGet: 2xx and 3xx pass (redirects not followed), 503 fails with the status; headers are sent', async () => {
    seen = [];
    const p = probers();
    expect(await p.answer('/app-health/web/readyz')).toEqual({ status: 200, body: 'ok\n' });
    expect(seen[0]!.path).toBe('/ok');
    expect(seen[0]!.headers['x-probe']).toBe('yes');
    expect(seen[0]!.headers['user-agent']).toMatch(/^kube-probe\//);
    expect(await p.answer('/app-health/web/startupz')).toEqual({ status: 200, body: 'ok\n' });
    expect(seen.map((s) => s.path)).not.toContain('/elsewhere');
    expect(await p.answer('/app-health/web/livez')).toEqual({ status: 500, body: `app answered 503 on port ${appPort} /broken\n` });
  });

  it('a probe past its timeoutSeconds fails; refused connections fail', async () => {
    const p = probers();
    const t0 = Date.now();
    const slow = await p.answer('/app-health/slow/readyz');
    expect(slow.status).toBe(500);
    expect(slow.body).toMatch(/timed out after 300 ms/);
    expect(Date.now() - t0).toBeLessThan(1200);
    expect((await p.answer('/app-health/dead/readyz')).body).toMatch(/ECONNREFUSED/);
  });

  it('tcpSocket: a connect passes, a refused one fails', async () => {
    const p = probers();
    expect((await p.answer('/app-health/tcp/livez')).status).toBe(200);
    const dead = await p.answer('/app-health/dead/livez');
    expect(dead.status).toBe(500);
    expect(dead.body).toMatch(new RegExp(`connect to port ${deadPort}: .*ECONNREFUSED`));
  });

  it('an unknown /app-health/ path is 404', async () => {
    expect(await probers().answer('/app-health/other/readyz')).toEqual({ status: 404, body: 'no app probe at /app-health/other/readyz\n' });
  });

  it('refuses bad ISTIO_KUBE_APP_PROBERS, naming the entry', () => {
    expect(() => parseAppProbers('nope')).toThrow(/not JSON/);
    expect(() => parseAppProbers('[]')).toThrow(/JSON object/);
    expect(() => parseAppProbers('{"/healthz":{"tcpSocket":{"port":80}}}')).toThrow('"/healthz": a prober path is /app-health/<container>/<readyz|livez|startupz>');
    expect(() => parseAppProbers('{"/app-health/a/readyz":{"exec":{}}}')).toThrow('"/app-health/a/readyz": neither httpGet nor tcpSocket');
    expect(() => parseAppProbers('{"/app-health/a/readyz":{"httpGet":{"port":"http"}}}')).toThrow(/port must be an integer/);
    expect(() => parseAppProbers('{"/app-health/a/readyz":{"httpGet":{"port":80,"scheme":"FTP"}}}')).toThrow(/scheme must be HTTP or HTTPS/);
    expect(parseAppProbers('{}').size).toBe(0);
  });

  it('is served on the merged-stats port beside /stats/prometheus', async () => {
    const port = new MergedStatsPort({ host: '127.0.0.1', port: 0, proxyText: () => '# proxy\n', probers: probers() });
    await port.listen();
    try {
      const get = (path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
        request({ host: '127.0.0.1', port: port.port, path }, (res) => {
          let body = '';
          res.on('data', (b) => (body += b));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        }).on('error', reject).end();
      });
      expect((await get('/app-health/web/readyz')).status).toBe(200);
      expect((await get('/app-health/web/livez')).status).toBe(500);
      expect((await get('/app-health/nope/livez')).status).toBe(404);
      const stats = await get('/stats/prometheus');
      expect(stats.status).toBe(200);
      expect(stats.body).toMatch(/^# proxy\n/);
    } finally {
      await port.close();
    }
  });
});
