// A CliIo for running a command in-process: what it prints is collected in stdout and stderr,
// no reload is ever requested, and it is asked to stop only when `stopWith` names a signal
// (then at once: the command starts, reports, and shuts down).
import type { CliIo } from '../../host/cli/cli-io.js';

export interface FakeIo extends CliIo {
  stdout: string;
  stderr: string;
}

export function fakeIo(opts: { stopWith?: string } = {}): FakeIo {
  const io: FakeIo = {
    stdout: '',
    stderr: '',
    out(text: string) { io.stdout += text; },
    err(text: string) { io.stderr += text; },
    stopRequested: () => (opts.stopWith === undefined ? new Promise<string>(() => {}) : Promise.resolve(opts.stopWith)),
    onReloadRequest: () => () => {},
    commandDone: () => {},
  };
  return io;
}
