// The files Telemetry / meshConfig access logs write to, one buffered writer per path shared by
// every server of the process (a sidecar's two listeners write one file, as Envoy's do): lines
// are batched (AccessLogBuffer: 100 ms or 32 KiB) and appended with one write per batch, so a
// request costs no syscall. /dev/stdout and /dev/stderr are the process's streams. A file that
// cannot be opened is reported once on the operational log and its lines dropped (Envoy logs the
// error and runs on): access logs never fail a request.
import { closeSync, openSync, writeSync } from 'node:fs';
import { AccessLogBuffer } from './access-log.js';

export class AccessLogFiles {
  readonly #writers = new Map<string, { buffer: AccessLogBuffer; close: () => void }>();
  readonly #onError: (path: string, error: Error) => void;

  constructor(onError: (path: string, error: Error) => void = () => {}) {
    this.#onError = onError;
  }

  /** The writer of one path (opened on first use): takes one line without its newline. */
  writer(path: string): (line: string) => void {
    let w = this.#writers.get(path);
    if (w === undefined) {
      w = this.#open(path);
      this.#writers.set(path, w);
    }
    const buffer = w.buffer;
    return (line) => buffer.push(line);
  }

  #open(path: string): { buffer: AccessLogBuffer; close: () => void } {
    if (path === '/dev/stdout' || path === '/dev/stderr') {
      const stream = path === '/dev/stdout' ? process.stdout : process.stderr;
      return { buffer: new AccessLogBuffer((text) => stream.write(text)), close: () => {} };
    }
    let fd: number | null = null;
    let failed = false;
    const buffer = new AccessLogBuffer((text) => {
      if (failed) return;
      try {
        fd ??= openSync(path, 'a');
        writeSync(fd, text);
      } catch (e) {
        failed = true;
        this.#onError(path, e as Error);
      }
    });
    return { buffer, close: () => { if (fd !== null) closeSync(fd); fd = null; } };
  }

  /** Writes every buffered line (the caller drained its listeners first). */
  flush(): void {
    for (const w of this.#writers.values()) w.buffer.flush();
  }

  close(): void {
    for (const w of this.#writers.values()) {
      w.buffer.flush();
      w.close();
    }
    this.#writers.clear();
  }
}
