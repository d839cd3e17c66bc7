// Formats the data path's access-log records as Envoy's default access-log line, field for
// field, so that log tooling written for Envoy (and Istio's ingress gateway) reads wasmesh.
import type { AccessLogEntry } from './access-log.js';

/** Fields Envoy's default format has that a record may carry (absent → `-`). */
interface OptionalFields {
  protocol?: string;
  forwardedFor?: string;
  userAgent?: string;
}

/**
 * Envoy's default format:
 * `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
 * %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
 * "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%"
 * "%UPSTREAM_HOST%"`. One line, no trailing newline.
 */
export function envoyAccessLogLine(entry: AccessLogEntry & OptionalFields): string {
  const start = new Date(entry.startTime).toISOString();
  const ust = entry.upstreamServiceTimeMs < 0 ? '-' : String(Math.round(entry.upstreamServiceTimeMs));
  return (
    `[${start}] "${entry.method} ${entry.path} ${entry.protocol ?? 'HTTP/1.1'}" ` +
    `${entry.code} ${dash(entry.flags)} ${entry.bytesReceived} ${entry.bytesSent} ${Math.round(entry.durationMs)} ${ust} ` +
    `"${dash(entry.forwardedFor)}" "${dash(entry.userAgent)}" "${dash(entry.requestId)}" "${dash(entry.authority)}" "${dash(entry.upstreamHost)}"`
  );
}

// Envoy prints `-` for an empty or absent value.
function dash(value: string | undefined): string {
  return value === undefined || value === '' ? '-' : value;
}

/**
 * Istio's sidecar access-log line: Envoy's default fields and %UPSTREAM_CLUSTER%, which is what
 * tells an inbound line (`inbound|5005||`) from an outbound one.
 */
export function sidecarAccessLogLine(entry: AccessLogEntry): string {
  return `${envoyAccessLogLine(entry)} ${entry.upstreamCluster === '' ? '-' : entry.upstreamCluster}`;
}
