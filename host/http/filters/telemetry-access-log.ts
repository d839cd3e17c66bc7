// The access logs of the Telemetry API and meshConfig (MeshConfig.accessLogs): a listener filter
// that, when a stream ends, renders each target's compiled format (telemetry/access-log-format.ts)
// from the stream and hands the line to the target's file writer. Formats are compiled once per
// config version (the filter is built per version); the record the formats read is one reused
// view over the stream, so a request allocates only its lines.
import type { HttpFilter } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import { formatFlags } from '../response-flags.js';
import { passesFilter, type AccessLogTarget, type ResponseCodeFilter } from '../../model/access-logging.js';
import {
  compileJson, compileText, renderJson, renderText, type AccessLogRecord, type CompiledJson, type CompiledText,
} from '../../common/access-log-format.js';
import { formatSocketAddress } from '../../common/host-port.js';

/** The view the formats read, pointed at one stream at a time (onLog runs synchronously). */
class StreamRecord implements AccessLogRecord {
  s: StreamCallbacks = null as unknown as StreamCallbacks;
  now = 0;
  constructor(readonly listenerPort: () => number) {}
  get startTime(): number { return this.s.downstream.startTime; }
  get method(): string { return this.s.downstream.method; }
  get path(): string { return this.s.downstream.path; }
  get authority(): string { return this.s.downstream.authority; }
  get protocol(): string { return this.s.downstream.protocol ?? 'HTTP/1.1'; }
  get code(): number { return this.s.downstream.status; }
  get flags(): string { return this.s.flags.length === 0 ? '-' : formatFlags(this.s.flags); }
  get bytesReceived(): number { return this.s.downstream.bytesReceived; }
  get bytesSent(): number { return this.s.downstream.bytesSent; }
  get durationMs(): number { return this.now - this.s.downstream.startTime; }
  get upstreamServiceTimeMs(): number { return this.s.upstreamServiceTimeMs; }
  get upstreamHost(): string { return this.s.upstreamHost; }
  get upstreamCluster(): string { return this.s.upstreamCluster; }
  get route(): string { return this.s.route?.name ?? '-'; }
  get requestId(): string { return this.s.requestId; }
  get forwardedFor(): string | undefined { return this.s.forwardedFor; }
  // Envoy prints the client's address with its port; the listener seam carries no port, so the address alone.
  get downstreamRemoteAddress(): string { return this.s.downstream.remoteAddress; }
  get downstreamLocalAddress(): string {
    const local = this.s.downstream.localAddress;
    return local === undefined ? '' : formatSocketAddress(local, this.listenerPort());
  }
  get requestedServerName(): string { return this.s.downstream.security?.sni ?? ''; }
  get attempts(): number { return this.s.attempts; }
  get grpc(): boolean { return this.s.grpc; }
  get grpcStatus(): number { return this.s.grpcStatus; }
  requestHeader(name: string): string | null { return this.s.requestHeader(name); }
}

interface Compiled {
  readonly write: (line: string) => void;
  readonly text: CompiledText | null;
  readonly json: CompiledJson | null;
  readonly filter: ResponseCodeFilter | undefined;
}

/** The filter writing `targets`; `writer` gives a path's line writer (shared across versions). */
export function telemetryAccessLogFilter(targets: readonly AccessLogTarget[], writer: (path: string) => (line: string) => void, listenerPort: () => number): HttpFilter {
  // Formats were checked by the translation; compiling again here cannot fail for a loaded config.
  const logs: Compiled[] = targets.map((t) => ({
    write: writer(t.path),
    text: t.encoding === 'TEXT' ? compileText(t.format ?? '') : null,
    json: t.encoding === 'JSON' ? compileJson(t.labels ?? {}) : null,
    filter: t.filter,
  }));
  const record = new StreamRecord(listenerPort);
  return {
    onLog(stream: StreamCallbacks): void {
      record.s = stream;
      record.now = Date.now();
      const code = stream.downstream.status;
      for (let i = 0; i < logs.length; i++) {
        const l = logs[i]!;
        if (!passesFilter(l.filter, code)) continue;
        l.write(l.text !== null ? renderText(l.text, record) : renderJson(l.json!, record));
      }
      record.s = null as unknown as StreamCallbacks;
    },
  };
}
