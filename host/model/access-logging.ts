// The access logs one proxy writes (meshConfig accessLogFile/accessLogFormat/accessLogEncoding,
// extensionProviders[].envoyFileAccessLog, Telemetry accessLogging), resolved per proxy by the
// translation (host/config/translate/telemetry-access-logging.ts): plain, JSON-safe data.

/** Telemetry accessLogging filter.expression, as far as wasmesh serves it: a comparison of response.code. */
export interface ResponseCodeFilter {
  readonly op: '==' | '!=' | '<' | '<=' | '>' | '>=';
  readonly value: number;
}

/** One access log: a file and a format. */
export interface AccessLogTarget {
  /** The provider's name (`envoy` for meshConfig accessLogFile). */
  readonly provider: string;
  /** File path; `/dev/stdout` and `/dev/stderr` are the process's streams. */
  readonly path: string;
  /** TEXT: `format` is an Envoy format string (without its trailing newline); JSON: `labels` map keys to format strings. */
  readonly encoding: 'TEXT' | 'JSON';
  readonly format?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Only requests matching every filter are logged (absent: all). */
  readonly filter?: ResponseCodeFilter;
}

/** Whether a response code passes a filter. */
export function passesFilter(f: ResponseCodeFilter | undefined, code: number): boolean {
  if (f === undefined) return true;
  switch (f.op) {
    case '==': return code === f.value;
    case '!=': return code !== f.value;
    case '<': return code < f.value;
    case '<=': return code <= f.value;
    case '>': return code > f.value;
    case '>=': return code >= f.value;
  }
}
