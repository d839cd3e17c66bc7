// The one error type of the Envoy translation: input the translation cannot accept at all
// (a listen address, a weight Envoy rejects), with a stable code and the place it came from.

export type EnvoyConfigErrorCode =
  | 'envoy_config_bad_listen'
  | 'envoy_config_bad_weight'
  /** Cluster TLS origination Envoy cannot do as wasmesh does (SIMPLE without caCertificates, …). */
  | 'envoy_config_tls_untranslated'

  | 'envoy_config_gateway_tls' // Gateway TLS or httpsRedirect, not translated for Envoy yet
  | 'envoy_config_authz_custom' // AuthorizationPolicy CUSTOM (ext_authz), not translated for Envoy yet
  | 'envoy_config_authz'; // an authorization value the RBAC translation has no form for (a model bug)

export class EnvoyConfigError extends Error {
  readonly code: EnvoyConfigErrorCode;
  /** Where the bad value was found, e.g. `VirtualService default/web http[0].retries.perTryTimeout`. */
  readonly where: string;
  constructor(code: EnvoyConfigErrorCode, where: string, why: string) {
    super(`${where}: ${why} [${code}]`);
    this.name = 'EnvoyConfigError';
    this.code = code;
    this.where = where;
  }
}
