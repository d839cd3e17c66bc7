// One access-log record per downstream request, in the fields and the order of Envoy's default
// format, so that existing log tooling reads wasmesh lines unchanged.

export interface AccessLogEntry {
  /** Request start, ms since the epoch. */
  startTime: number;
  method: string;
  /** Request-target as received (path + query). */
  path: string;
  /** Status sent downstream; 0 when no response head was sent (client went away first). */
  code: number;
  /** Envoy response flags ('-' when none), e.g. 'NR', 'UF', 'DC'. */
  flags: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  /** Time from request start to the upstream response head; -1 when none arrived. */
  upstreamServiceTimeMs: number;
  requestId: string;
  authority: string;
  /** `address:port` of the endpoint used, or '-'. */
  upstreamHost: string;
  /** Cluster name, or '-'. */
  upstreamCluster: string;
  /** Route name, or '-'. */
  route: string;
  /** Config version the request ran on. */
  version: number;
  /** Downstream protocol as Envoy prints it. */
  protocol?: string;
  /** x-forwarded-for as sent upstream (client address appended). */
  forwardedFor?: string;
  userAgent?: string;
  /** Upstream attempts made (Envoy's %UPSTREAM_REQUEST_ATTEMPT_COUNT%); 0 when none. */
  attempts?: number;
}

/** Renders Envoy's default text format (one line, no trailing newline). */
export function formatAccessLog(e: AccessLogEntry): string {
  const start = new Date(e.startTime).toISOString();
  const ust = e.upstreamServiceTimeMs < 0 ? '-' : String(e.upstreamServiceTimeMs);
  return `[${start}] "${e.method} ${e.path} HTTP/1.1" ${e.code} ${e.flags} ${e.bytesReceived} ${e.bytesSent} ${e.durationMs} ${ust} "${e.requestId}" "${e.authority}" "${e.upstreamHost}" ${e.upstreamCluster} ${e.route}`;
}
