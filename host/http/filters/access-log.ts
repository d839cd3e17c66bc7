// The access log as a listener-level filter: one record per finished stream, built from the
// stream's record (Envoy's StreamInfo) when the stream ends, whatever ended it (answered, local
// reply, client gone), and handed to the sink the runtime chose (stdout, a file, a worker's port).
import type { HttpFilter } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import type { AccessLogEntry } from '../../telemetry/access-log.js';
import { formatFlags } from '../response-flags.js';

/**
 * The access-log filter writing one entry per stream to `sink`; with `only`, just for the streams
 * it accepts (by status and flags, read before anything of the entry is built).
 */
export function accessLogFilter(sink: (entry: AccessLogEntry) => void, only?: (code: number, flags: readonly string[]) => boolean): HttpFilter {
  return {
    onLog(stream: StreamCallbacks): void {
      const ds = stream.downstream;
      if (only !== undefined && !only(ds.status, stream.flags)) return;
      sink({
        startTime: ds.startTime,
        method: ds.method,
        path: ds.path,
        code: ds.status,
        flags: formatFlags(stream.flags),
        bytesReceived: ds.bytesReceived,
        bytesSent: ds.bytesSent,
        durationMs: Date.now() - ds.startTime,
        upstreamServiceTimeMs: stream.upstreamServiceTimeMs,
        requestId: stream.requestId,
        authority: ds.authority,
        upstreamHost: stream.upstreamHost,
        upstreamCluster: stream.upstreamCluster,
        route: stream.route ? stream.route.name : '-',
        version: stream.config.version,
        protocol: ds.protocol ?? 'HTTP/1.1',
        forwardedFor: stream.forwardedFor,
        userAgent: stream.requestHeader('user-agent') ?? undefined,
        attempts: stream.attempts,
        connectionSecurityPolicy: ds.security?.mutualTls === true ? 'mutual_tls' : 'none',
        downstreamPeerUriSan: ds.security?.peerSpiffeId ?? undefined,
      });
    },
  };
}
