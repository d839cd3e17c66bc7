// Runs a bench runner (a script under dist/bench/) as a child process and collects its output,
// the one way every bench smoke test does it: exit code, and all of stdout and stderr. It
// resolves on 'close' — the process exited and both pipes were read to their end — not on
// 'exit', which can come before the last chunk of stdout has been read (a Markdown report then
// compared byte for byte came short on a loaded machine).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './wasmesh-process.js';

export interface BenchRun {
  /** Exit code; null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/bench/<script> ...args` from the package root. */
export function runBench(script: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<BenchRun> {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'bench', script), ...args], { cwd: ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
