// A request `wasmesh explain` cannot explain for a reason the user can fix: a bad URL, method
// or header, a workload or gateway the configuration does not hold. Configuration that does not
// load is a ConfigError (host/config), with every issue located.
export type ExplainErrorCode = 'bad_url' | 'bad_method' | 'bad_header' | 'bad_source' | 'unknown_workload' | 'unknown_gateway' | 'xds_failed';

export class ExplainError extends Error {
  readonly code: ExplainErrorCode;
  constructor(code: ExplainErrorCode, message: string) {
    super(message);
    this.name = 'ExplainError';
    this.code = code;
  }
}
