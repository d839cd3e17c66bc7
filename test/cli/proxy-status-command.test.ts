// `wasmesh proxy-status`'s table: istioctl's columns (NAME CLUSTER CDS LDS EDS RDS ECDS ISTIOD
// VERSION, its tabwriter with padding 5, sorted by cluster then proxy, its cell words), then
// wasmesh's own type and the config version; read from a monitoring port's /debug/syncz.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyStatusCommand } from '../../host/cli/proxy-status-command.js';
import type { SyncEntry } from '../../host/control-plane/monitoring-server.js';
import { fakeIo } from '../helpers/fake-io.js';

type T = SyncEntry['types'][string];
const t = (state: string, more: Partial<T> = {}): T => ({ state, sent: '1', sentNonce: 'n1', acked: '1', ackedNonce: 'n1', nack: null, resources: 1, ...more });
const entry = (proxy: string, cluster: string, types: SyncEntry['types']): SyncEntry => ({ proxy, kind: 'envoy', protocol: 'sotw', controlPlaneVersion: 3, types, error: null, cluster, istiod: 'cp-0', istioVersion: '0.1.0' });

const ENTRIES: SyncEntry[] = [
  entry('sidecar~10.0.0.2~b.default~default.svc.cluster.local', 'west', { cds: t('SYNCED'), lds: t('STALE', { ackedNonce: null, acked: null }), eds: t('STALE', { ackedNonce: 'n0' }), rds: t('NACKED', { nack: { version: '3', message: 'bad route', at: '2026-01-01T00:00:00.000Z' } }) }),
  entry('router~10.0.0.1~gw.default~default.svc.cluster.local', 'west', { wasmesh: t('SYNCED'), cds: t('IGNORED') }),
  entry('sidecar~10.0.0.3~a.default~default.svc.cluster.local', 'east', { cds: t('NOT SENT', { sentNonce: null }), TypedExtensionConfig: t('SYNCED') }),
];

describe('wasmesh proxy-status', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url === '/debug/syncz' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ENTRIES));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('prints istioctl\'s columns and words, padded as its tabwriter, sorted by cluster then name', async () => {
    const io = fakeIo();
    expect(await proxyStatusCommand(['--control-plane', `127.0.0.1:${port}`], io)).toBe(0);
    const rows = [
      ['NAME', 'CLUSTER', 'CDS', 'LDS', 'EDS', 'RDS', 'ECDS', 'ISTIOD', 'VERSION', 'WASMESH', 'CONFIG VERSION'],
      ['sidecar~10.0.0.3~a.default~default.svc.cluster.local', 'east', 'NOT SENT', 'NOT SENT', 'NOT SENT', 'NOT SENT', 'SYNCED', 'cp-0', '0.1.0', 'NOT SENT', '3'],
      ['router~10.0.0.1~gw.default~default.svc.cluster.local', 'west', 'NOT SENT', 'NOT SENT', 'NOT SENT', 'NOT SENT', 'NOT SENT', 'cp-0', '0.1.0', 'SYNCED', '3'],
      ['sidecar~10.0.0.2~b.default~default.svc.cluster.local', 'west', 'SYNCED', 'STALE (Never Acknowledged)', 'STALE', 'NACKED (bad route)', 'NOT SENT', 'cp-0', '0.1.0', 'NOT SENT', '3'],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)) + 5);
    expect(io.stdout).toBe(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('') + '\n').join(''));
  });

  it('-o json prints /debug/syncz as it is', async () => {
    const io = fakeIo();
    expect(await proxyStatusCommand(['--control-plane', `127.0.0.1:${port}`, '-o', 'json'], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toEqual(ENTRIES);
  });
});
