// Podman for the image test (issue 16): whether it can build and run containers here, the flags
// that make `podman run` work on these machines, and the image build through
// scripts/build-image.sh (the unchanged Dockerfile on the locally made node:20-bookworm-slim).
//
// Why the flags: crun 1.8 (Debian's default runtime) refuses the hybrid cgroup v1/v2 layout
// ("cgroups in hybrid mode not supported"), so containers run with runc; and podman asks the
// runtime for rlimits it cannot set without CAP_SYS_RESOURCE, which these machines do not grant
// ("setrlimit RLIMIT_NPROC/RLIMIT_NOFILE: Operation not permitted"), so the container's nofile
// and nproc are given explicitly at values the runtime may keep: nofile the hard limit this
// process has, nproc 32768 (what podman leaves its children, and its build default). With
// WASMESH_REQUIRE_PODMAN=1 (set by .ci/run) a machine that cannot do this fails instead of skipping.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The tag the image test builds (not :dev, so a developer's own build is left alone). */
export const TEST_IMAGE = 'localhost/wasmesh:image-test';

/** Why the image test cannot run here, or null; a reason throws under WASMESH_REQUIRE_PODMAN=1. */
export function podmanUnavailableReason(): string | null {
  const reason = probe();
  if (reason !== null && process.env.WASMESH_REQUIRE_PODMAN === '1') {
    throw new Error(`image test: WASMESH_REQUIRE_PODMAN=1 but ${reason}`);
  }
  return reason;
}

function probe(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root (the test uses rootful podman and network namespaces)';
  for (const bin of ['podman', 'runc', 'debootstrap', 'ip', 'iptables-save']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      return `'${bin}' is missing (apt-get install -y podman runc debootstrap iproute2 iptables)`;
    }
  }
  const info = spawnSync('podman', ['info', '--format', '{{.Store.GraphDriverName}}'], { encoding: 'utf8', timeout: 60_000 });
  if (info.status !== 0) return `'podman info' fails: ${(info.stderr || info.error?.message || '').trim()}`;
  return null;
}

/** A hard rlimit of this process from /proc/self/limits ('unlimited' → undefined). */
function hardLimit(name: string): number | undefined {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const hard = line?.slice(name.length).trim().split(/\s+/)[1];
  return hard && /^\d+$/.test(hard) ? Number(hard) : undefined;
}

/** `podman run` flags every container in the test gets (see the header for why). */
export function podmanRunFlags(): string[] {
  const nofile = Math.min(hardLimit('Max open files') ?? 1_048_576, 1_048_576);
  const nproc = Math.min(hardLimit('Max processes') ?? 32_768, 32_768);
  return ['--runtime', 'runc', '--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`];
}

/** Runs podman synchronously; throws with its stderr on failure unless allowFail. */
export function podman(args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}) {
  const r = spawnSync('podman', args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
  if (!opts.allowFail && (r.error || r.status !== 0)) {
    throw new Error(`podman ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  }
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Builds the Dockerfile into `image` with scripts/build-image.sh (which makes the base image first
 * when missing). Layers come from podman's cache when nothing changed. Resolves with the seconds
 * it took; rejects with the build's output when it fails.
 */
export function buildImage(image = TEST_IMAGE, timeoutMs = 900_000): Promise<{ seconds: number; log: string }> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/build-image.sh'], { cwd: ROOT, env: { ...process.env, WASMESH_IMAGE: image }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ seconds: (Date.now() - start) / 1000, log });
      else reject(new Error(`scripts/build-image.sh failed (${signal ?? `exit ${code}`}):\n${log.slice(-4000)}`));
    });
  });
}
