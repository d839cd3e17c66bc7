// Choosing a listener's downstream transport from its configuration: raw by default, TLS or
// PERMISSIVE with files read at once and bad settings refused with a located error.
import { describe, it, expect } from 'vitest';
import { createDownstreamTransport } from '../../../host/listener/transport/create-transport.js';
import { RAW_DOWNSTREAM } from '../../../host/listener/transport/raw.js';
import { TlsDownstreamTransport } from '../../../host/listener/transport/tls.js';
import { Stats } from '../../../host/telemetry/stats.js';
import { leaf, meshRoot, spiffeId } from '../../helpers/test-certs.js';

const stats = new Stats().downstream;

describe('createDownstreamTransport', () => {
  it('raw when none or raw is asked; TLS and PERMISSIVE from the files', () => {
    expect(createDownstreamTransport(undefined, stats)).toBe(RAW_DOWNSTREAM);
    expect(createDownstreamTransport({ kind: 'raw' }, stats)).toBe(RAW_DOWNSTREAM);
    const c = leaf({ ns: 'mesh', sa: 'gw' });
    const tls = createDownstreamTransport({ kind: 'tls', tls: { certificateChain: c.cert, privateKey: c.key, caCertificates: meshRoot().cert, requireClientCertificate: true } }, stats);
    expect(tls.kind).toBe('tls');
    expect((tls as TlsDownstreamTransport).own).toBe(spiffeId('mesh', 'gw'));
    expect(createDownstreamTransport({ kind: 'permissive', tls: { certificateChain: c.cert, privateKey: c.key, caCertificates: meshRoot().cert, requireClientCertificate: true } }, stats).kind).toBe('permissive');
  });

  it('refuses a client certificate requirement without a trust bundle, and a missing key file', () => {
    const c = leaf({ ns: 'mesh', sa: 'gw' });
    expect(() => createDownstreamTransport({ kind: 'tls', tls: { certificateChain: c.cert, privateKey: c.key, requireClientCertificate: true } }, stats)).toThrow(/needs caCertificates.*\(TLS_SETTINGS\)/);
    expect(() => createDownstreamTransport({ kind: 'permissive', tls: { certificateChain: c.cert, privateKey: '/missing/key.pem', requireClientCertificate: false } }, stats)).toThrow('privateKey /missing/key.pem: ENOENT (TLS_FILE)');
  });
});
