// Why a TLS handshake failed, in Envoy's stat names (ssl.*, counted per listener or cluster):
// the error Node reports (OpenSSL's reason as code ERR_SSL_…, a verify code such as
// CERT_HAS_EXPIRED, or the proxy's own SAN check) mapped onto the reason Envoy would count.

export type TlsFailureReason =
  /** No client certificate where one is required. */
  | 'ssl.fail_verify_no_cert'
  /** The chain did not verify: unknown CA, expired, not yet valid, bad signature. */
  | 'ssl.fail_verify_error'
  /** The chain verified but the certificate has none of the expected SANs. */
  | 'ssl.fail_verify_san'
  /** Any other handshake failure: not TLS at all, protocol or version mismatch, peer alert. */
  | 'ssl.connection_error';

/** Node's error code of a failed SAN check (the proxy's own). */
export const SAN_MISMATCH_CODE = 'ERR_WASMESH_TLS_SAN_MISMATCH';

const VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'CERT_UNTRUSTED',
  'CERT_REJECTED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The failure's stat name. */
export function tlsFailureReason(err: Error & { code?: string }): TlsFailureReason {
  const code = err.code ?? '';
  if (code === SAN_MISMATCH_CODE) return 'ssl.fail_verify_san';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'ssl.fail_verify_no_cert';
  if (VERIFY_CODES.has(code) || code === 'ERR_SSL_CERTIFICATE_VERIFY_FAILED') return 'ssl.fail_verify_error';
  return 'ssl.connection_error';
}
