import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPem } from '../../host/tls/pem-files.js';
import { certDir, meshRoot } from '../helpers/test-certs.js';

describe('readPem', () => {
  it('reads a PEM file; a missing or non-PEM file is a located error', () => {
    expect(readPem(meshRoot().cert, 'caCertificates').toString()).toContain('-----BEGIN CERTIFICATE-----');
    expect(() => readPem('/no/such.pem', 'privateKey')).toThrow('wasmesh: privateKey /no/such.pem: ENOENT (TLS_FILE)');
    const junk = join(certDir(), 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    expect(() => readPem(junk, 'certificateChain')).toThrow(`wasmesh: certificateChain ${junk}: no PEM block in the file (TLS_FILE)`);
  });
});
