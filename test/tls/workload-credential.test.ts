import { describe, expect, it } from 'vitest';
import { WorkloadCredential } from '../../host/tls/workload-credential.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';

const cert = (serial: string, identity = 'spiffe://cluster.local/ns/shop/sa/cart'): WorkloadCertificate => ({
  identity, certChainPem: `chain ${serial}`, keyPem: `key ${serial}`, rootsPem: 'roots', notAfter: new Date(Date.now() + 60_000),
});

describe('WorkloadCredential', () => {
  it('fails closed while the source has no certificate, logging the state once, not per connection', () => {
    const cell = new WorkloadCertificateCell();
    const log: string[] = [];
    const cred = new WorkloadCredential(cell, (c) => c.certChainPem, 'downstream tls', (l, m) => log.push(`${l} ${m}`));
    expect(cred.take()).toBeNull();
    expect(cred.take()).toBeNull();
    expect(cred.identity).toBeNull();
    expect(log).toEqual(['warn downstream tls: no workload certificate (none issued yet, or expired without renewal); handshakes refused, counted as ssl.workload_certificate_unavailable']);
    cell.set(cert('a'));
    expect(cred.take()).toBe('chain a');
    expect(cred.identity).toBe('spiffe://cluster.local/ns/shop/sa/cart');
    expect(log[1]).toMatch(/^info downstream tls: workload certificate spiffe:.* in hand; handshakes served again$/);
    cell.clear();
    expect(cred.take()).toBeNull();
    expect(log).toHaveLength(3);
  });

  it('builds from the certificate in hand and rebuilds on each announced one', () => {
    const cell = new WorkloadCertificateCell();
    cell.set(cert('a'));
    const built: string[] = [];
    const cred = new WorkloadCredential(cell, (c) => (built.push(c.certChainPem), c.certChainPem), 'x');
    expect(built).toEqual(['chain a']);
    cell.set(cert('b'));
    expect(built).toEqual(['chain a', 'chain b']);
    expect(cred.take()).toBe('chain b');
    expect(built).toHaveLength(2);
    cred.close();
    cell.set(cert('c'));
    // Unsubscribed: no eager rebuild, but a connection still gets what the source holds now.
    expect(built).toHaveLength(2);
    expect(cred.take()).toBe('chain c');
  });

  it('a certificate that cannot be loaded fails closed with the reason logged, until a usable one', () => {
    const cell = new WorkloadCertificateCell();
    const log: string[] = [];
    const cred = new WorkloadCredential(cell, (c) => {
      if (c.certChainPem === 'chain bad') throw new Error('no PEM');
      return c.certChainPem;
    }, 'upstream tls (cluster c)', (l, m) => log.push(`${l} ${m}`));
    cell.set(cert('good'));
    cell.set(cert('bad'));
    expect(cred.take()).toBeNull();
    expect(log[0]).toContain('error upstream tls (cluster c): workload certificate spiffe://cluster.local/ns/shop/sa/cart unusable: no PEM');
    cell.set(cert('fixed'));
    expect(cred.take()).toBe('chain fixed');
  });
});
