// Where a runtime's access-log lines go: to a per-line consumer (the sidecar, the demo, tests),
// or in batches flushed every 100 ms or 32 KiB, as Envoy buffers its file access log
// (`wasmesh proxy`: one write per request would be one syscall per request). Worker threads
// send whole batches; a per-line consumer gets them split.
import { AccessLogBuffer, type AccessLogEntry } from '../telemetry/access-log.js';

export interface AccessLogOutput {
  /** One line (no newline) per finished request; absent (and no accessLogBatch): no access log. */
  accessLog?: (line: string) => void;
  /** Batches of whole lines (each ending in a newline). Takes precedence over accessLog. */
  accessLogBatch?: (text: string) => void;
}

export class AccessLogSink {
  readonly #buffer: AccessLogBuffer | null;
  readonly #line: ((line: string) => void) | undefined;
  /** Where worker threads' batches go; undefined when there is no access log. */
  readonly batch: ((text: string) => void) | undefined;

  constructor(out: AccessLogOutput) {
    const perLine = out.accessLog;
    this.#buffer = out.accessLogBatch ? new AccessLogBuffer(out.accessLogBatch) : null;
    const buffer = this.#buffer;
    this.#line = buffer ? (line) => buffer.push(line) : perLine;
    this.batch = out.accessLogBatch ?? (perLine ? (text) => {
      for (const line of text.split('\n')) if (line !== '') perLine(line);
    } : undefined);
  }

  /** A ProxyServer's `log`: each record formatted as one line; undefined when there is no access log. */
  entries(format: (entry: AccessLogEntry) => string): ((entry: AccessLogEntry) => void) | undefined {
    const line = this.#line;
    return line ? (entry) => line(format(entry)) : undefined;
  }

  /** Writes what is buffered (after the listeners drained: their last lines go out). */
  flush(): void {
    this.#buffer?.flush();
  }
}
