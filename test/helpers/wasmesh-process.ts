// Test helper: runs the real `wasmesh` binary (bin/wasmesh.js over dist/) as a child process,
// collects its output, and waits for lines; builds once first if the build is missing or stale.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'wasmesh.js');

/**
 * Runs scripts/ensure-built.js (a no-op when dist/ is fresh). Test files run two at a time, so
 * a lock folder keeps two of them from building into dist/ at once.
 */
export async function ensureBuilt(): Promise<void> {
  // Outside the checkout, so that a run killed mid-build leaves nothing in the repository.
  const lock = join(tmpdir(), `wasmesh-build-${createHash('sha1').update(ROOT).digest('hex').slice(0, 12)}.lock`);
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than the longest build belongs to a crashed run.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 150_000) rmdirSync(lock);
      } catch {}
      if (Date.now() > deadline) throw new Error('timed out waiting for another test file to finish building');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'ensure-built.js')], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`build failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  } finally {
    rmdirSync(lock);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class WasmeshProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  #exit: Exit | null = null;

  /** `env`: variables added to this process's environment for the child. */
  constructor(args: string[], cwd = ROOT, env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    // 'close', not 'exit': 'exit' can come before the last stdout/stderr bytes are read, and
    // callers check the output once this resolves.
    this.exited = new Promise((res) => this.child.on('close', (code, signal) => res((this.#exit = { code, signal }))));
  }

  get running(): boolean {
    return this.#exit === null;
  }

  /** Waits until stdout or stderr matches; fails early (with the output) if the process exits. */
  async waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stderr', ms = 20_000): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this[stream].match(pattern);
      if (m) return m;
      if (!this.running) throw new Error(`wasmesh exited (${JSON.stringify(this.#exit)}) before ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends a signal and waits for the exit (SIGKILL after `ms` as a last resort). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<Exit> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

/** Starts `wasmesh proxy` and waits for its start line; returns the bound ports. */
export async function startProxy(args: string[]): Promise<{ proc: WasmeshProcess; port: number; adminPort: number }> {
  const proc = new WasmeshProcess(['proxy', ...args]);
  const m = await proc.waitFor(/serving .* on http:\/\/[^:]+:(\d+) .*admin on http:\/\/[^:]+:(\d+)/);
  return { proc, port: Number(m[1]), adminPort: Number(m[2]) };
}
