import { describe, expect, it } from 'vitest';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';

const cert = (serial: string, notAfter: Date): WorkloadCertificate => ({
  identity: 'spiffe://cluster.local/ns/shop/sa/cart',
  certChainPem: `chain ${serial}`,
  keyPem: `key ${serial}`,
  rootsPem: 'roots',
  notAfter,
});

describe('WorkloadCertificateCell', () => {
  it('is empty until set, then serves the last certificate and tells every subscriber', () => {
    const cell = new WorkloadCertificateCell();
    expect(cell.current()).toBeNull();
    const seen: string[] = [];
    const off = cell.subscribe((c) => seen.push(c.certChainPem));
    cell.subscribe((c) => seen.push(`second ${c.certChainPem}`));
    const a = cert('a', new Date(Date.now() + 60_000));
    cell.set(a);
    expect(cell.current()).toBe(a);
    off();
    cell.set(cert('b', new Date(Date.now() + 60_000)));
    expect(seen).toEqual(['chain a', 'second chain a', 'second chain b']);
    expect(cell.current()?.certChainPem).toBe('chain b');
  });

  it('never serves an expired certificate, and clear() empties it', () => {
    const cell = new WorkloadCertificateCell();
    cell.set(cert('old', new Date(Date.now() - 1)));
    expect(cell.current()).toBeNull();
    cell.set(cert('new', new Date(Date.now() + 60_000)));
    cell.clear();
    expect(cell.current()).toBeNull();
  });

  it('tells every subscriber even when one throws, then rethrows the first error', () => {
    const cell = new WorkloadCertificateCell();
    const seen: string[] = [];
    cell.subscribe(() => {
      throw new Error('first listener broke');
    });
    cell.subscribe((c) => seen.push(c.certChainPem));
    expect(() => cell.set(cert('x', new Date(Date.now() + 60_000)))).toThrow('first listener broke');
    expect(seen).toEqual(['chain x']);
    expect(cell.current()?.certChainPem).toBe('chain x');
  });
});
