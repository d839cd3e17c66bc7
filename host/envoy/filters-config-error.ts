// The error of the "stock Envoy + wasmesh filters" translation (`wasmesh envoy-config
// --filters`): input it cannot turn into the filters' plugin configuration, with a stable code
// and the place it came from.

export type FiltersConfigErrorCode =
  /** The mesh does not compile into a route table (the RouteCompileError is the cause). */
  | 'filters_config_route_table'
  /** A fault the filters cannot apply: abort status outside 200..599, delay or percentage out of range. */
  | 'filters_config_bad_fault'
  /** A route matches on what the filters cannot read: JWT claims (`@request.auth.claims.…`, jwt_authn's metadata). */
  | 'filters_config_claim_match'
  /** An Istio label value the stats filter's name encoding cannot carry (`;.;`, `=.=`, a control character). */
  | 'filters_config_stats_label' | 'filters_config_stats_tcp_reporting'
  /** The built filters module (build/filters/wasmesh-filters.wasm) is missing. */
  | 'filters_config_not_built';

export class FiltersConfigError extends Error {
  readonly code: FiltersConfigErrorCode;
  /** Route name (`ns/vs/rule`), cluster, or file the error is about. */
  readonly where: string;
  constructor(code: FiltersConfigErrorCode, where: string, why: string, options?: { cause?: unknown }) {
    super(`${where}: ${why} [${code}]`, options);
    this.name = 'FiltersConfigError';
    this.code = code;
    this.where = where;
  }
}
