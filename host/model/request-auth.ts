// What RequestAuthentication established for one request: the verified JWT's attributes, as the
// authorization policy reads them (request.auth.*). Set on the stream by the JWT filter
// (host/http/filters/jwt-authn.ts) before authorization runs; null when the request carried no
// token (a request with an invalid token never gets this far: 401).
export interface RequestAuth {
  /** `<iss>/<sub>` (Istio's request principal). */
  readonly principal: string;
  /** The `aud` claim, as a list. */
  readonly audiences: readonly string[];
  /** The `azp` claim, or ''. */
  readonly presenter: string;
  /** Every claim of the payload (nested objects kept). */
  readonly claims: Readonly<Record<string, unknown>>;
}
