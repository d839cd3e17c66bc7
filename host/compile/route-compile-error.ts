// The error compileRouteTable and compileRetryPolicies throw: a stable code, the route or
// virtual host it is about, the field, and a message that says what, where and why.

export type RouteCompileErrorCode =
  /** A match kind the core does not evaluate yet. */
  | 'unsupported_match'
  /** A regex using RE2 syntax the engine refuses (backreference, lookaround, \\b, \\p{..}, (?m)); see RegexCompileError. */
  | 'unsupported_regex'
  /** A regex that is not valid RE2 syntax. */
  | 'invalid_regex'
  /** A regex whose automaton exceeds the engine's limits (4,096 DFA states, repetition above 1000). */
  | 'regex_too_large'
  /** A domain pattern that is empty, has a bad port, or puts `*` anywhere but in front. */
  | 'invalid_domain'
  /** The same domain (and port) on two virtual hosts: Envoy refuses this too. */
  | 'duplicate_domain'
  /** Two clusters with one name. */
  | 'duplicate_cluster'
  /** A destination or mirror naming a cluster that MeshConfig.clusters does not hold. */
  | 'unknown_cluster'
  /** A weight that is not a non-negative integer, or weights summing to 0 or above 2^30. */
  | 'invalid_weight'
  /** A `port` match outside 1..65535, or a listenerPort option outside 0..65535. */
  | 'invalid_port'
  /** An lb policy the core does not know. */
  | 'unsupported_lb'
  /** A value the table cannot hold (a string or table above the format's u32 limits). */
  | 'table_too_large'
  /** A retry policy value its record cannot hold (not a u32, more than 16 retriable status codes). */
  | 'invalid_retry_policy';

export class RouteCompileError extends Error {
  readonly code: RouteCompileErrorCode;
  /** Route name (`ns/vs/rule`), virtual host name or cluster name the error is about. */
  readonly where: string;
  /** The offending field, e.g. `uri.regex`, `headers.x-user.regex`, `domains[2]`. */
  readonly field: string;

  constructor(code: RouteCompileErrorCode, where: string, field: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RouteCompileError';
    this.code = code;
    this.where = where;
    this.field = field;
  }
}
