import { describe, expect, test } from 'vitest';
import { PassthroughGuard, isLocalAddress } from '../../host/upstream/passthrough-guard.js';

describe('PassthroughGuard', () => {
  test('loopback, unspecified and IPv4-mapped loopback addresses are local; others are not', () => {
    const none = new Set<string>();
    for (const a of ['127.0.0.1', '127.255.0.9', '::1', '::FFFF:127.0.0.1', '0:0:0:0:0:0:0:1']) expect(isLocalAddress(a, none), a).toBe(true);
    for (const a of ['10.0.0.1', '128.0.0.1', '::2', '::ffff:10.0.0.1', '1.127.0.0']) expect(isLocalAddress(a, none), a).toBe(false);
    expect(isLocalAddress('10.1.2.3', new Set(['10.1.2.3']))).toBe(true);
  });

  test('refuses exactly its ports on local addresses, reading the ports at each call', () => {
    let ports = [15001];
    const g = new PassthroughGuard(() => ports);
    expect(g.refuses('127.0.0.1', 15001)).toBe(true);
    expect(g.refuses('0.0.0.0', 15001)).toBe(true);
    expect(g.refuses('::', 15001)).toBe(true);
    expect(g.refuses('127.0.0.1', 15002)).toBe(false);
    expect(g.refuses('192.0.2.10', 15001)).toBe(false);
    // A name may resolve to loopback: at one of the ports it is refused before resolving.
    expect(g.refuses('localhost', 15001)).toBe(true);
    expect(g.refuses('example.com', 15001)).toBe(true);
    expect(g.refuses('example.com', 443)).toBe(false);
    ports = [15001, 15000];
    expect(g.refuses('127.0.0.1', 15000)).toBe(true);
  });
});
