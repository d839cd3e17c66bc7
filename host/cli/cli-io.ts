// The CLI's contact with the outside world (output streams and stop/reload signals), passed in
// so that commands run the same under a real process and inside tests.

export interface CliIo {
  /** Standard output: access-log lines and help text. */
  out(text: string): void;
  /** Standard error: operational log lines and error messages. */
  err(text: string): void;
  /** Resolves with the signal's name when the process is asked to stop (SIGINT/SIGTERM). */
  stopRequested(): Promise<string>;
  /** Calls back on each reload request (SIGHUP); returns an unsubscribe function. */
  onReloadRequest(callback: () => void): () => void;
  /** Called when a command has finished and closed what it opened, with its exit code. */
  commandDone(code: number): void;
}

/** How long a finished command may wait for the event loop to empty on its own. */
const EXIT_GRACE_MS = 1000;

/** The real process: stdout/stderr and POSIX signals. */
export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stopRequested: () =>
      new Promise((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          // A second Ctrl-C during a slow shutdown ends the process at once, as users expect.
          process.once('SIGINT', () => process.exit(130));
          // A repeated SIGTERM must not cut the drain short: supervisors send it more than once
          // (coreutils `timeout` signals its child and then the child's whole process group), and
          // without a listener the default action would end the process by signal instead of with
          // the drain's exit status.
          process.on('SIGTERM', () => void process.stderr.write(logLine('info', 'SIGTERM again: already draining')));
          resolve(signal);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      }),
    onReloadRequest: (callback) => {
      const handler = () => callback();
      process.on('SIGHUP', handler);
      return () => void process.off('SIGHUP', handler);
    },
    commandDone: (code) => {
      // Idle keep-alive connections that clients hold open to the listener keep the event loop
      // alive after a graceful close; a shutdown (SIGTERM from Kubernetes, Ctrl-C) must not wait
      // on them. The timer is unref'd: when nothing else is left, the process exits sooner.
      setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    },
  };
}

/** Serves until SIGINT/SIGTERM, calling `reload` on each SIGHUP meanwhile; resolves with the stop signal's name. */
export async function untilStopped(io: CliIo, reload: () => void): Promise<string> {
  const unsubscribe = io.onReloadRequest(reload);
  try {
    return await io.stopRequested();
  } finally {
    unsubscribe();
  }
}

/** One operational log line: `[time][level] message`, like Envoy's own log prefix. */
export function logLine(level: string, message: string, now = new Date()): string {
  return `[${now.toISOString()}][${level}] ${message}\n`;
}
