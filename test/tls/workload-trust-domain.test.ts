import { describe, expect, test } from 'vitest';
import { trustDomainOf } from '../../host/tls/workload-trust-domain.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate, WorkloadCertificateSource } from '../../host/tls/workload-certificate.js';

const cert = (identity: string) => ({ identity, certChainPem: '', keyPem: '', rootsPem: '', notAfter: new Date(Date.now() + 60_000) }) as WorkloadCertificate;

describe('trustDomainOf', () => {
  test('no source: undefined (the load takes cluster.local)', () => {
    expect(trustDomainOf(undefined)).toBeUndefined();
  });

  test('a source that knows it before any certificate (the CA client) is taken at its word', () => {
    const source: WorkloadCertificateSource = { trustDomain: 'corp.example', current: () => null, subscribe: () => () => {} };
    expect(trustDomainOf(source)).toBe('corp.example');
  });

  test('otherwise the certificate in hand says; none yet, or an identity that is not a SPIFFE ID: undefined', () => {
    const held: WorkloadCertificateSource = { current: () => cert('spiffe://mesh.test/ns/a/sa/b'), subscribe: () => () => {} };
    expect(trustDomainOf(held)).toBe('mesh.test');
    expect(trustDomainOf(new WorkloadCertificateCell())).toBeUndefined();
    expect(trustDomainOf({ current: () => cert('not-a-spiffe-id'), subscribe: () => () => {} })).toBeUndefined();
  });
});
