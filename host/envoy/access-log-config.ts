// The proxy's access logs (MeshConfig.accessLogs / inboundAccessLogs) as stock Envoy's file (and
// stdout/stderr) access loggers on the HTTP connection manager, as istiod writes them: the same path and format (TEXT:
// text_format_source with the trailing newline Envoy needs; JSON: json_format with the labels) and
// the Telemetry filter. Istio sends filter.expression as a CEL filter; wasmesh serves only
// response.code comparisons, which Envoy's status_code_filter expresses exactly (it has EQ, GE and
// LE: `>`/`<` are GE/LE of the next code, `!=` an or_filter of both sides).
import type { AccessLogTarget, ResponseCodeFilter } from '../model/access-logging.js';

type Obj = Record<string, unknown>;

const FILE_ACCESS_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
// /dev/stdout and /dev/stderr as Envoy's stream loggers: the process's own streams, which need no
// open() (a file logger cannot open /dev/stdout when stdout is a socket, as under a supervisor).
const STREAM_LOGGERS: Readonly<Record<string, readonly [string, string]>> = {
  '/dev/stdout': ['envoy.access_loggers.stdout', 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog'],
  '/dev/stderr': ['envoy.access_loggers.stderr', 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog'],
};

function statusCode(op: 'EQ' | 'GE' | 'LE', value: number): Obj {
  // runtime_key is required by the proto; a key nobody sets keeps default_value.
  return { status_code_filter: { comparison: { op, value: { default_value: value, runtime_key: 'wasmesh.access_log.status_code' } } } };
}

/** Envoy's AccessLogFilter for a response.code comparison. */
export function envoyStatusFilter(f: ResponseCodeFilter): Obj {
  switch (f.op) {
    case '==': return statusCode('EQ', f.value);
    case '>=': return statusCode('GE', f.value);
    case '<=': return statusCode('LE', f.value);
    case '>': return statusCode('GE', f.value + 1);
    case '<': return statusCode('LE', f.value - 1);
    case '!=': return { or_filter: { filters: [statusCode('LE', f.value - 1), statusCode('GE', f.value + 1)] } };
  }
}

/** One target as an Envoy access logger. */
export function envoyAccessLog(t: AccessLogTarget): Obj {
  const logFormat = t.encoding === 'JSON'
    ? { json_format: { ...(t.labels ?? {}) } }
    : { text_format_source: { inline_string: `${t.format ?? ''}\n` } };
  const stream = STREAM_LOGGERS[t.path];
  return {
    name: stream?.[0] ?? 'envoy.access_loggers.file',
    ...(t.filter !== undefined ? { filter: envoyStatusFilter(t.filter) } : {}),
    typed_config: stream !== undefined ? { '@type': stream[1], log_format: logFormat } : { '@type': FILE_ACCESS_LOG, path: t.path, log_format: logFormat },
  };
}

/** The connection manager's access_log field for the proxy's access logs; nothing when none. */
export function envoyHcmAccessLog(targets: readonly AccessLogTarget[] | undefined): { access_log?: Obj[] } {
  if (targets === undefined || targets.length === 0) return {};
  return { access_log: targets.map(envoyAccessLog) };
}
