// The reference rate limit service (envoyproxy/ratelimit, Go) with its Redis, for tests: the
// binaries from scripts/install-ratelimit.sh (WASMESH_RATELIMIT_BIN overrides the cached build).
// Missing: the test skips with a message, unless WASMESH_REQUIRE_RATELIMIT=1 (set by .ci/run),
// where their absence is a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { freePort } from './ports.js';

/** The version scripts/install-ratelimit.sh builds (keep in step). */
export const RATELIMIT_VERSION = 'v1.4.1-0.20260122083618-3fb702589d36';

export interface ReferenceBinaries {
  readonly ratelimit: string;
  readonly redis: string;
}

export function referenceRateLimitForTests(suite: string): ReferenceBinaries | null {
  const ratelimit = process.env.WASMESH_RATELIMIT_BIN || join(process.env.WASMESH_CACHE_DIR || join(homedir(), '.cache', 'wasmesh'), `ratelimit-${RATELIMIT_VERSION}`, 'service_cmd');
  const redis = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  const missing = [existsSync(ratelimit) ? null : `ratelimit (${ratelimit})`, redis !== '' ? null : 'redis-server'].filter((x) => x !== null);
  if (missing.length === 0) return { ratelimit, redis };
  const why = `${missing.join(', ')} not found (run scripts/install-ratelimit.sh)`;
  if (process.env.WASMESH_REQUIRE_RATELIMIT === '1') throw new Error(`${suite}: WASMESH_REQUIRE_RATELIMIT=1 but ${why}`);
  console.warn(`${suite} skipped: ${why}`);
  return null;
}

async function waitForPort(port: number, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`${what} did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RunningReference {
  readonly grpcPort: number;
  stop(): Promise<void>;
}

/** Starts Redis and the ratelimit service with `config` (its YAML, one domain) on free loopback ports. */
export async function startReferenceRateLimit(bins: ReferenceBinaries, config: string): Promise<RunningReference> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-rls-'));
  mkdirSync(join(dir, 'rt', 'cfg', 'config'), { recursive: true });
  writeFileSync(join(dir, 'rt', 'cfg', 'config', 'config.yaml'), config);
  const [redisPort, httpPort, grpcPort, debugPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
  };
  try {
    const redis = spawn(bins.redis, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    children.push(redis);
    await waitForPort(redisPort, 'redis-server');
    const rls = spawn(bins.ratelimit, [], {
      stdio: 'ignore',
      env: {
        ...process.env,
        USE_STATSD: 'false',
        LOG_LEVEL: 'warn',
        REDIS_SOCKET_TYPE: 'tcp',
        REDIS_URL: `127.0.0.1:${redisPort}`,
        RUNTIME_ROOT: join(dir, 'rt'),
        RUNTIME_SUBDIRECTORY: 'cfg',
        RUNTIME_APPDIRECTORY: 'config',
        RUNTIME_WATCH_ROOT: 'false',
        RUNTIME_IGNOREDOTFILES: 'true',
        HOST: '127.0.0.1',
        PORT: String(httpPort),
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(grpcPort),
        DEBUG_HOST: '127.0.0.1',
        DEBUG_PORT: String(debugPort),
      },
    });
    children.push(rls);
    await waitForPort(grpcPort, 'envoyproxy/ratelimit');
  } catch (err) {
    await stop();
    throw err;
  }
  return { grpcPort, stop };
}
