// Starting and stopping the benchmark's server processes (upstream, proxies): spawn, wait until
// ready (an HTTP 200 from a readiness URL, or a line on stdout), and stop with SIGTERM then
// SIGKILL. Shared with the interop tests' data planes, which started their proxies the same way.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * A free TCP port on 127.0.0.1 (closed again at once: the caller binds it next), drawn at random
 * below the kernel's ephemeral range (32768–60999 by default). A port from listen(0) comes from
 * that range, so any outgoing connection on the machine may take it before the caller binds it
 * (seen in CI: an Envoy failing on "Address already in use").
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await bindOnce(candidate)) !== null) return candidate;
  }
  const any = await bindOnce(0);
  if (any === null) throw new Error('freePort: cannot bind any port on 127.0.0.1');
  return any;
}

/** Binds `port` on 127.0.0.1 and releases it: the bound port, or null when it is taken. */
function bindOnce(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, '127.0.0.1', () => {
      const bound = (s.address() as { port: number }).port;
      s.close(() => resolve(bound));
    });
  });
}

/** Every server process started and not yet exited, for killChildren() on an interrupted run. */
const live = new Set<ChildProcess>();

/** SIGKILLs every server process still running (the harness is being interrupted). */
export function killChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

export interface Started {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr), for error messages. */
  output(): string;
}

export type Readiness =
  /** Polls this URL until it answers 200 (Envoy's and wasmesh's admin /ready). */
  | { url: string }
  /** Waits for a stdout line matching this pattern (the upstream's "listening ..."). */
  | { line: RegExp };

/**
 * Spawns `cmd args` and resolves once it is ready; rejects with its output if it exits first or
 * is not ready within `timeoutMs`. With `{ url }` readiness stdout goes to /dev/null: a proxy's
 * access log would otherwise be drained by this process, which competes for the same cores.
 */
export async function startReady(
  cmd: string,
  args: string[],
  ready: Readiness,
  what: string,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; passFds?: readonly number[] } = {},
): Promise<Started & { match?: RegExpMatchArray }> {
  const stdout = 'line' in ready ? 'pipe' : 'ignore';
  // passFds: descriptors the child gets as 3, 4, … (socket activation: LISTEN_FDS).
  const spawnOpts: SpawnOptions = { stdio: ['ignore', stdout, 'pipe', ...(opts.passFds ?? [])], env: opts.env ?? process.env };
  const child = spawn(cmd, args, spawnOpts);
  live.add(child);
  child.once('exit', () => live.delete(child));
  let output = '';
  const keep = (b: Buffer): void => {
    // Bounded: only the start of the output matters for a start-up failure.
    if (output.length < 64 * 1024) output += b.toString();
  };
  let match: RegExpMatchArray | undefined;
  let stdoutTail = '';
  child.stdout?.on('data', (b: Buffer) => {
    keep(b);
    if ('line' in ready && match === undefined) {
      stdoutTail += b.toString();
      for (const l of stdoutTail.split('\n')) {
        const m = l.match(ready.line);
        if (m) match = m;
      }
      stdoutTail = stdoutTail.slice(stdoutTail.lastIndexOf('\n') + 1);
    }
  });
  child.stderr!.on('data', keep);
  let exited: string | null = null;
  child.once('exit', (code, signal) => { exited = `exited (code ${code}, signal ${signal})`; });
  child.once('error', (err) => { exited = `could not start (${err.message})`; });
  const started = { child, output: () => output };
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${what} ${exited} before it was ready:\n${output}`);
    if ('line' in ready) {
      if (match !== undefined) return { ...started, match };
    } else {
      try {
        const res = await fetch(ready.url, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return started;
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stopChild(child);
  throw new Error(`${what} not ready within ${(opts.timeoutMs ?? 20_000) / 1000} s:\n${output}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
