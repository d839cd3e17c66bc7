// Real TCP servers for the TCP proxy tests (scripts/install-tcpservers.sh): a throwaway Redis
// and a throwaway PostgreSQL cluster on loopback, each a child process of the test (never a
// daemon: stop() kills it and waits for its exit, so nothing is left running). Absent → the
// suite skips with a message, unless WASMESH_REQUIRE_TCPSERVERS=1 (set by .ci/run after
// installing them), where absence fails.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../host/common/free-port.js';

export interface TcpServerBins {
  readonly redisServer: string;
  readonly redisCli: string;
  /** Directory with initdb, postgres and psql. */
  readonly pgBin: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function tcpServersForTests(suite: string): TcpServerBins | null {
  const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find(executable);
  const redisCli = ['/usr/bin/redis-cli', '/usr/local/bin/redis-cli'].find(executable);
  let pgBin: string | undefined;
  try {
    pgBin = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => ['initdb', 'postgres', 'psql'].every((b) => executable(join(d, b))));
  } catch {
    pgBin = undefined;
  }
  if (redisServer !== undefined && redisCli !== undefined && pgBin !== undefined) return { redisServer, redisCli, pgBin };
  const missing = [redisServer === undefined && 'redis-server', redisCli === undefined && 'redis-cli', pgBin === undefined && 'postgresql (initdb, postgres, psql)'].filter(Boolean).join(', ');
  if (process.env.WASMESH_REQUIRE_TCPSERVERS === '1') throw new Error(`${suite}: WASMESH_REQUIRE_TCPSERVERS=1 but ${missing} not found (run scripts/install-tcpservers.sh)`);
  console.warn(`${suite}: ${missing} not installed (run scripts/install-tcpservers.sh); its tests are skipped`);
  return null;
}

export interface TestServer {
  readonly port: number;
  /** What the server wrote (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Kills `child` (signal, then SIGKILL after 5 s) and waits for its exit. */
function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    child.kill(signal);
  });
}

/** Waits until `text()` matches `ready`, or the child exits, or 20 s pass. */
function waitReady(child: ChildProcess, text: () => string, ready: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (ready.test(text())) done(null);
    }, 50);
    const giveUp = setTimeout(() => done(new Error(`${what} not ready after 20 s:\n${text()}`)), 20_000);
    const onExit = (): void => done(new Error(`${what} exited before it was ready:\n${text()}`));
    child.once('exit', onExit);
    function done(err: Error | null): void {
      clearInterval(timer);
      clearTimeout(giveUp);
      child.off('exit', onExit);
      if (err === null) resolve();
      else reject(err);
    }
  });
}

export async function startRedis(bins: TcpServerBins): Promise<TestServer> {
  const port = await freePort('127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-redis-'));
  const child = spawn(bins.redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const stop = async (): Promise<void> => {
    await stopChild(child, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(child, () => out, /Ready to accept connections/, 'redis-server');
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, log: () => out, stop };
}

/**
 * A throwaway PostgreSQL cluster (initdb in a temp dir, trust auth for `postgres`, loopback only,
 * socket in the same dir) run as the `postgres` user when the test runs as root (PostgreSQL
 * refuses root), through setpriv.
 */
export async function startPostgres(bins: TcpServerBins): Promise<TestServer> {
  const port = await freePort('127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-pg-'));
  const data = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  let prefix: string[] = [];
  if (asRoot) {
    const ids = await run('id', ['-u', 'postgres']).then((u) => run('id', ['-g', 'postgres']).then((g) => [Number(u.trim()), Number(g.trim())] as const)).catch(() => [65534, 65534] as const);
    chownSync(dir, ids[0], ids[1]);
    prefix = ['setpriv', `--reuid=${ids[0]}`, `--regid=${ids[1]}`, '--clear-groups', '--'];
  }
  const cmd = (bin: string, args: string[]): [string, string[]] => (prefix.length > 0 ? [prefix[0]!, [...prefix.slice(1), bin, ...args]] : [bin, args]);
  const [initCmd, initArgs] = cmd(join(bins.pgBin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  await run(initCmd, initArgs);
  const [pgCmd, pgArgs] = cmd(join(bins.pgBin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'logging_collector=off']);
  const child = spawn(pgCmd, pgArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const stop = async (): Promise<void> => {
    // SIGQUIT: immediate shutdown, the postmaster takes its backends down with it.
    await stopChild(child, 'SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(child, () => out, /database system is ready to accept connections/, 'postgres');
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, log: () => out, stop };
}

/** Runs a command to completion: its stdout, or a rejection with its stderr. */
export function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20_000, env: env ?? process.env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
