import { describe, it, expect } from 'vitest';
import { SAN_MISMATCH_CODE, tlsFailureReason } from '../../host/tls/handshake-failure.js';

const err = (code: string): Error & { code: string } => Object.assign(new Error(code), { code });

describe('tlsFailureReason', () => {
  it('maps Node\'s codes onto Envoy\'s ssl.* names', () => {
    expect(tlsFailureReason(err(SAN_MISMATCH_CODE))).toBe('ssl.fail_verify_san');
    expect(tlsFailureReason(err('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'))).toBe('ssl.fail_verify_no_cert');
    for (const c of ['CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID']) expect(tlsFailureReason(err(c))).toBe('ssl.fail_verify_error');
    for (const c of ['ERR_SSL_WRONG_VERSION_NUMBER', 'ECONNRESET', 'ERR_TLS_HANDSHAKE_TIMEOUT', '']) expect(tlsFailureReason(err(c))).toBe('ssl.connection_error');
  });
});
