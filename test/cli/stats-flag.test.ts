// `--app-probers` (with --merged-stats): ISTIO_KUBE_APP_PROBERS parsed into the prober the
// merged-stats port answers /app-health/ with; bad JSON or entries are usage errors naming them,
// and the flag is refused when --merged-stats is off. The app's metrics and probes are reached at
// the sidecar's --app-address (::1 on an IPv6-only pod), over real loopback sockets.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../host/cli/args.js';
import { mergedStatsFromFlags, statsFromFlags } from '../../host/cli/stats-flag.js';
import { AppProber } from '../../host/admin/app-prober.js';
import { MergedStatsPort } from '../../host/admin/merged-stats-port.js';

describe('--app-probers', () => {
  it('gives the merged-stats port a prober', async () => {
    const ms = mergedStatsFromFlags('wasmesh sidecar', { 'app-probers': '{"/app-health/web/readyz":{"tcpSocket":{"port":1}}}' });
    expect(ms?.probers).toBeInstanceOf(AppProber);
    expect((await ms!.probers!.answer('/app-health/x/livez')).status).toBe(404);
    expect(mergedStatsFromFlags('wasmesh sidecar', {})?.probers).toBeUndefined();
  });

  it('refuses bad probers and --merged-stats off', () => {
    expect(() => mergedStatsFromFlags('wasmesh sidecar', { 'app-probers': '{"/x":{}}' })).toThrow(UsageError);
    expect(() => mergedStatsFromFlags('wasmesh sidecar', { 'app-probers': '{"/x":{}}' })).toThrow(/--app-probers: "\/x": a prober path is/);
    expect(() => mergedStatsFromFlags('wasmesh sidecar', { 'merged-stats': 'off', 'app-probers': '{}' })).toThrow(/--app-probers goes with --merged-stats/);
  });
});

describe('--app-address reaches the app\'s metrics and probes (an IPv6-only pod\'s app on ::1)', () => {
  it('scrapes and probes the app at the address given; the IPv4 default does not reach a ::1-only app', async () => {
    const app = createServer((req, res) => {
      if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain' }).end('# TYPE app_hits_total counter\napp_hits_total 5\n');
      else res.writeHead(req.url === '/ok' ? 200 : 404).end();
    });
    await new Promise<void>((r) => app.listen(0, '::1', r));
    const appPort = (app.address() as AddressInfo).port;
    const flags = { 'app-metrics': String(appPort), 'app-probers': JSON.stringify({ '/app-health/web/readyz': { httpGet: { path: '/ok', port: appPort } }, '/app-health/web/livez': { tcpSocket: { port: appPort } } }) };
    const ports: MergedStatsPort[] = [];
    try {
      const served = async (appAddress?: string) => {
        const ms = mergedStatsFromFlags('wasmesh sidecar', flags, appAddress)!;
        const port = new MergedStatsPort({ host: '127.0.0.1', port: 0, proxyText: () => '', ...(ms.app ? { app: ms.app } : {}), ...(ms.probers ? { probers: ms.probers } : {}) });
        ports.push(port);
        await port.listen();
        const get = async (path: string) => { const r = await fetch(`http://127.0.0.1:${port.port}${path}`); return { status: r.status, body: await r.text() }; };
        return { metrics: (await get('/stats/prometheus')).body, ready: (await get('/app-health/web/readyz')).status, live: (await get('/app-health/web/livez')).status };
      };
      const v6 = await served('::1');
      expect(v6.metrics).toContain('app_hits_total 5');
      expect([v6.ready, v6.live]).toEqual([200, 200]);
      const v4 = await served();
      expect(v4.metrics).not.toContain('app_hits_total');
      expect([v4.ready, v4.live]).toEqual([500, 500]);
    } finally {
      for (const p of ports) await p.close();
      await new Promise((r) => app.close(r));
    }
  });
});

describe('the stats ports\' defaults follow the pod\'s wildcard (Prometheus scrapes the pod\'s address)', () => {
  it('0.0.0.0 with no families or an IPv4 pod, [::] on an IPv6-only or dual-stack pod; an address given is kept', () => {
    const v4 = { ipv4: true, ipv6: false };
    const v6 = { ipv4: false, ipv6: true };
    const dual = { ipv4: true, ipv6: true };
    expect(statsFromFlags('wasmesh sidecar', {})).toEqual({ at: { host: '0.0.0.0', port: 15090 }, required: false });
    expect(statsFromFlags('wasmesh sidecar', {}, v4)?.at).toEqual({ host: '0.0.0.0', port: 15090 });
    expect(statsFromFlags('wasmesh sidecar', {}, v6)?.at).toEqual({ host: '::', port: 15090 });
    expect(statsFromFlags('wasmesh sidecar', {}, dual)?.at).toEqual({ host: '::', port: 15090 });
    expect(statsFromFlags('wasmesh sidecar', { stats: '127.0.0.1:9000' }, v6)).toEqual({ at: { host: '127.0.0.1', port: 9000 }, required: true });
    expect(statsFromFlags('wasmesh sidecar', { stats: 'off' }, v6)).toBeUndefined();
    expect(mergedStatsFromFlags('wasmesh sidecar', {}, '::1', v6)?.at).toEqual({ host: '::', port: 15020 });
    expect(mergedStatsFromFlags('wasmesh sidecar', {}, '127.0.0.1', v4)?.at).toEqual({ host: '0.0.0.0', port: 15020 });
    expect(mergedStatsFromFlags('wasmesh sidecar', { 'merged-stats': '127.0.0.1:9001' }, '::1', v6)?.at).toEqual({ host: '127.0.0.1', port: 9001 });
  });
});
