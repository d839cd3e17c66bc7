// DnsRefresher against a real DNS server on loopback (node:dns Resolver over UDP): the first
// answer, a refresh when the TTL runs out (and not sooner than the minimum), a change reported
// once, a failing server keeping the last addresses with retries backing off, names dropped.
import { afterEach, describe, expect, it } from 'vitest';
import { DnsRefresher, type DnsTiming } from '../../host/upstream/dns-refresher.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';

const servers: TestDnsServer[] = [];
const refreshers: DnsRefresher[] = [];
afterEach(async () => {
  for (const r of refreshers.splice(0)) r.close();
  for (const s of servers.splice(0)) await s.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

async function setup(timing: DnsTiming) {
  const dns = await startDnsServer();
  servers.push(dns);
  let changes = 0;
  const r = new DnsRefresher(dns.resolver(), () => changes++, timing);
  refreshers.push(r);
  return { dns, r, changes: () => changes };
}

describe('DnsRefresher', () => {
  it('resolves a watched name, refreshes it at its TTL, reports a change of the address set once', async () => {
    // TTL 1 s, minimum 200 ms: refreshed each second.
    const { dns, r, changes } = await setup({ minRefreshMs: 200, refreshMs: 60_000, failureBaseMs: 100 });
    dns.zone.set('api.test', { addresses: ['10.0.0.1', '10.0.0.2'], ttl: 1 });
    r.watch(new Set(['api.test']));
    expect(r.addresses('api.test')).toBeNull();
    await until(() => r.addresses('api.test') !== null);
    expect(r.addresses('api.test')).toEqual(['10.0.0.1', '10.0.0.2']);
    await until(() => changes() === 1);
    // The same set in another order is no change.
    dns.zone.set('api.test', { addresses: ['10.0.0.2', '10.0.0.1'], ttl: 1 });
    await until(() => (dns.queries.get('api.test') ?? 0) >= 2, 2500);
    await sleep(50);
    expect(changes()).toBe(1);
    dns.zone.set('api.test', { addresses: ['10.0.0.3'], ttl: 1 });
    await until(() => changes() === 2, 2500);
    expect(r.addresses('api.test')).toEqual(['10.0.0.3']);
  });

  it('a TTL under the minimum is raised to it; no TTL: the refresh rate', async () => {
    const { dns, r } = await setup({ minRefreshMs: 1500, refreshMs: 300, failureBaseMs: 100 });
    dns.zone.set('short.test', { addresses: ['10.0.0.1'], ttl: 0 });
    dns.zone.set('raised.test', { addresses: ['10.0.0.2'], ttl: 1 });
    r.watch(new Set(['short.test', 'raised.test']));
    await until(() => r.addresses('short.test') !== null && r.addresses('raised.test') !== null);
    await sleep(2200);
    // TTL 0: every 300 ms (the refresh rate); TTL 1 s raised to 1.5 s: once more, not twice.
    const noTtl = dns.queries.get('short.test')!;
    expect(noTtl).toBeGreaterThanOrEqual(6);
    expect(noTtl).toBeLessThanOrEqual(9);
    expect(dns.queries.get('raised.test')).toBe(2);
  });

  it('a failing server: the last addresses are kept and the lookup retried, backing off (100, 200, 400 ms …)', async () => {
    const { dns, r, changes } = await setup({ minRefreshMs: 100, refreshMs: 10_000, failureBaseMs: 100 });
    dns.zone.set('flaky.test', { addresses: ['10.0.0.9'], ttl: 1 });
    r.watch(new Set(['flaky.test']));
    await until(() => r.addresses('flaky.test') !== null);
    dns.zone.set('flaky.test', 'fail');
    const before = dns.queries.get('flaky.test')!;
    // The TTL (1 s) runs out, then retries at +100, +200, +400 ms: 4 queries by ~1.8 s, not 10.
    await sleep(1900);
    const failures = dns.queries.get('flaky.test')! - before;
    expect(failures).toBeGreaterThanOrEqual(3);
    expect(failures).toBeLessThanOrEqual(5);
    expect(r.addresses('flaky.test')).toEqual(['10.0.0.9']);
    expect(changes()).toBe(1);
    // The server recovers with a new address: picked up on the next retry.
    dns.zone.set('flaky.test', { addresses: ['10.0.0.10'], ttl: 1 });
    await until(() => changes() === 2, 2500);
    expect(r.addresses('flaky.test')).toEqual(['10.0.0.10']);
  });

  it('an unknown name (NXDOMAIN) has no addresses; a dropped name is no longer asked for', async () => {
    const { dns, r } = await setup({ minRefreshMs: 100, refreshMs: 200, failureBaseMs: 50 });
    dns.zone.set('a.test', { addresses: ['10.0.0.1'], ttl: 0 });
    r.watch(new Set(['a.test', 'missing.test']));
    await until(() => r.addresses('a.test') !== null);
    await sleep(150);
    expect(r.addresses('missing.test')).toBeNull();
    r.watch(new Set(['missing.test']));
    expect(r.names).toEqual(['missing.test']);
    const asked = dns.queries.get('a.test')!;
    await sleep(500);
    expect(dns.queries.get('a.test')).toBe(asked);
    expect(r.addresses('a.test')).toBeNull();
  });
});
