// The error catalogue of workload identity: every refusal of the CA, the token check, the CSR
// check and the SPIFFE parser carries a stable code and a message that says where it went wrong.

export const IDENTITY_ERRORS = {
  spiffe_id_invalid: 'a SPIFFE ID that is not spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>',
  ca_files_invalid: 'the CA directory holds files that are missing, unreadable or do not fit together',
  csr_invalid: 'a certificate signing request that cannot be read or whose signature does not verify',
  csr_identity_refused: 'a CSR whose SAN is not exactly one SPIFFE ID, or names another identity than the caller\'s',
  ttl_refused: 'a requested certificate lifetime above the CA\'s maximum',
  token_invalid: 'a token that is not a compact JWS signed with ES256',
  token_signature: 'a token whose signature does not verify with the control plane\'s key',
  token_expired: 'a token past its exp (or before its nbf)',
  token_audience: 'a token whose aud does not include the CA\'s audience',
  token_issuer: 'a token from another issuer',
  token_missing: 'a request without `authorization: Bearer <token>`',
  token_review_refused: 'a Kubernetes token the API server does not authenticate, for another audience, or of a user who is no service account (TokenReview)',
  token_review_unavailable: 'a Kubernetes token that cannot be checked: the API server is unreachable or refuses the TokenReview (fail closed)',
  chain_invalid: 'a certificate chain that does not verify against the trust bundle or does not fit the request',
} as const;

export type IdentityErrorCode = keyof typeof IDENTITY_ERRORS;

export class IdentityError extends Error {
  readonly code: IdentityErrorCode;
  constructor(code: IdentityErrorCode, message: string) {
    super(message);
    this.name = 'IdentityError';
    this.code = code;
  }
}
