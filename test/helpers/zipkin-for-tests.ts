// The real Zipkin server for tests: the io.zipkin:zipkin-server exec jar that
// scripts/install-zipkin.sh caches (ZIPKIN_JAR overrides), run with the machine's Java, in-memory
// storage, on a free loopback port. Missing java or jar: the test skips with a message, unless
// WASMESH_REQUIRE_ZIPKIN=1 (set by .ci/run), where their absence is a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** The version scripts/install-zipkin.sh downloads (keep in step). */
export const ZIPKIN_VERSION = '3.4.2';

export interface ZipkinBinaries {
  readonly java: string;
  readonly jar: string;
}

export function zipkinForTests(suite: string): ZipkinBinaries | null {
  const jar = process.env.ZIPKIN_JAR || join(process.env.WASMESH_CACHE_DIR || join(homedir(), '.cache', 'wasmesh'), `zipkin-${ZIPKIN_VERSION}`, `zipkin-server-${ZIPKIN_VERSION}-exec.jar`);
  const java = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim();
  const missing = [java !== '' ? null : 'java', existsSync(jar) ? null : `the Zipkin server jar (${jar})`].filter((x) => x !== null);
  if (missing.length === 0) return { java, jar };
  const why = `${missing.join(' and ')} not found (run scripts/install-zipkin.sh)`;
  if (process.env.WASMESH_REQUIRE_ZIPKIN === '1') throw new Error(`${suite}: WASMESH_REQUIRE_ZIPKIN=1 but ${why}`);
  console.warn(`${suite} skipped: ${why}`);
  return null;
}

export interface RunningZipkin {
  readonly port: number;
  /** `http://127.0.0.1:<port>` (the API is under /api/v2). */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts Zipkin (in-memory storage) and waits for its health check; up to `ms` (the JVM starts slowly on a busy machine). */
export async function startZipkin(bins: ZipkinBinaries, ms = 120_000): Promise<RunningZipkin> {
  const port = await freePort();
  const output: string[] = [];
  const child: ChildProcess = spawn(bins.java, ['-Xms64m', '-Xmx256m', '-XX:TieredStopAtLevel=1', '-jar', bins.jar], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, QUERY_PORT: String(port), STORAGE_TYPE: 'mem', JAVA_OPTS: '', LOGGING_LEVEL_ROOT: 'WARN', QUERY_LOOKBACK: '86400000' },
  });
  const keep = (b: Buffer): void => {
    output.push(b.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`zipkin-server exited (${child.exitCode}) before it was healthy:\n${output.join('')}`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return { port, url, stop };
    if (Date.now() > end) {
      await stop();
      throw new Error(`zipkin-server was not healthy on ${port} within ${ms} ms:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
