// ServiceEntry resolution DNS through a real ProxyServer: the cluster's name is resolved by a DNS
// server on loopback, and when its answer changes (at the TTL) the requests go to the new address
// with no config applied in between; a server that stops answering keeps the last address.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { freePort } from '../../host/common/free-port.js';
import { mesh } from '../helpers/mesh-fixtures.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function app(host: string, port: number, name: string): Promise<Server> {
  const s = createServer((_q, r) => r.end(name));
  await new Promise<void>((ok, fail) => s.once('error', fail).listen(port, host, ok));
  closers.push(() => new Promise((r) => s.close(r)));
  return s;
}

async function until(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ServiceEntry resolution DNS', () => {
  it('requests follow the name\'s answers without a config reload; a failing DNS server keeps the last address', async () => {
    // Two apps on one port, at 127.0.0.1 and 127.0.0.2 (both loopback on Linux).
    const port = await freePort('127.0.0.1');
    await app('127.0.0.1', port, 'one');
    await app('127.0.0.2', port, 'two');
    const dns: TestDnsServer = await startDnsServer();
    closers.push(() => dns.close());
    dns.zone.set('api.example.test', { addresses: ['127.0.0.1'], ttl: 1 });

    const m = mesh([{ name: 'api', ports: [port] }], [{ name: 'default/api/0', dests: [{ cluster: 'api' }] }]);
    m.clusters[0]!.endpoints = [{ address: 'api.example.test', port, labels: {}, weight: 1 }];
    m.clusters[0]!.dnsResolution = 'STRICT_DNS';
    const logs: string[] = [];
    const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, dnsResolver: dns.resolver(), dnsTiming: { minRefreshMs: 200, refreshMs: 5000, failureBaseMs: 100 }, operationalLog: (_l, msg) => logs.push(msg) });
    p.apply(m, 1);
    await p.listen();
    closers.push(() => p.close());
    const body = async () => (await request(p.port, { path: '/' })).body.toString();

    await until(async () => p.clusters().some((c) => c.endpoints.some((e) => e.address === '127.0.0.1')));
    const first = await request(p.port, { path: '/' });
    expect(first.body.toString()).toBe('one');
    dns.zone.set('api.example.test', { addresses: ['127.0.0.2'], ttl: 1 });
    await until(async () => (await body()) === 'two');
    expect(p.clusters().find((c) => c.name === 'api')!.endpoints.map((e) => e.address)).toEqual(['127.0.0.2']);

    // Both addresses: both apps answer (one endpoint per address).
    dns.zone.set('api.example.test', { addresses: ['127.0.0.1', '127.0.0.2'], ttl: 1 });
    await until(async () => p.clusters().find((c) => c.name === 'api')!.endpoints.length === 2);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(await body());
    expect([...seen].sort()).toEqual(['one', 'two']);

    // The DNS server fails: the last addresses keep serving.
    dns.zone.set('api.example.test', 'fail');
    const asked = dns.queries.get('api.example.test')!;
    await until(async () => dns.queries.get('api.example.test')! >= asked + 2);
    expect(p.clusters().find((c) => c.name === 'api')!.endpoints.map((e) => e.address).sort()).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(['one', 'two']).toContain(await body());
    expect(logs).toEqual([]);
  }, 20_000);
});
