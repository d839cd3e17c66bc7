// RequestAuthentication as one proxy enforces it: the jwtRules of every RequestAuthentication
// that selects the proxy (root namespace, its namespace, a selector or a targetRef), resolved
// with Istio's defaults, in load order. Envoy's jwt_authn providers in the shape Istio emits them
// (one provider per rule; requires_any [every provider, allow_missing]): a request without a
// token passes, a token no rule verifies is refused (host/http/filters/jwt-authn.ts).

/** A header carrying the token, e.g. `authorization` with prefix `Bearer `. */
export interface JwtHeaderLocation {
  /** Lower-case header name. */
  readonly name: string;
  /** Stripped before the token (as given, case-sensitive as Envoy's value_prefix); '' for none. */
  readonly prefix: string;
}

export interface JwtClaimToHeader {
  /** Lower-case header name. */
  readonly header: string;
  /** Claim name; a nested claim is dotted (`a.b`), as Istio's outputClaimToHeaders. */
  readonly claim: string;
}

export interface JwtRule {
  /** `<namespace>/<name>` of the RequestAuthentication, for logs and errors. */
  readonly source: string;
  readonly issuer: string;
  /** Empty: any audience. */
  readonly audiences: readonly string[];
  /** Remote key set (http or https); null when the keys are inline. */
  readonly jwksUri: string | null;
  /** Inline key set (JWKS JSON, validated at load); takes precedence over jwksUri, as Istio. */
  readonly jwks: string | null;
  /** Where the token is looked for; Istio's defaults (Authorization: Bearer, access_token) resolved. */
  readonly fromHeaders: readonly JwtHeaderLocation[];
  readonly fromParams: readonly string[];
  readonly fromCookies: readonly string[];
  /** Lower-case header that gets the payload (base64url JSON); null: none. */
  readonly outputPayloadToHeader: string | null;
  readonly outputClaimToHeaders: readonly JwtClaimToHeader[];
  /** false (Istio's default): the header that carried the token is removed after verification. */
  readonly forwardOriginalToken: boolean;
  /** JWKS fetch timeout (Istio `timeout`, default 5 s). */
  readonly timeoutMs: number;
}

/** Istio's default JWKS fetch timeout. */
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000;

/** Envoy's defaults when a rule names no location: `Authorization: Bearer <token>`, then `?access_token=`. */
export const DEFAULT_JWT_HEADERS: readonly JwtHeaderLocation[] = Object.freeze([Object.freeze({ name: 'authorization', prefix: 'Bearer ' })]);
export const DEFAULT_JWT_PARAMS: readonly string[] = Object.freeze(['access_token']);
