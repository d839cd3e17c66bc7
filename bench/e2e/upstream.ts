// The benchmark's upstream process: bench/e2e/upstream/upstream.go built with the machine's Go
// toolchain into a temporary folder and started on two loopback ports (subsets v1 and v2), so
// that it runs outside the harness's and the proxies' processes and is not the bottleneck.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReady, stopChild } from './processes.js';
import { repoRoot } from './repo-root.js';

export interface Upstream {
  pid: number;
  /** The listener ports: v1 (also the direct contender's target) and v2. */
  ports: { v1: number; v2: number };
  stop(): Promise<void>;
}

/** The `go` command: GO_BIN, else `go` on PATH; null with the reason when it cannot run. */
export function goToolchain(): { go: string; version: string } | { go: null; reason: string } {
  const go = process.env.GO_BIN || 'go';
  const r = spawnSync(go, ['version'], { encoding: 'utf8' });
  if (r.status !== 0) return { go: null, reason: `Go toolchain not found (\`${go} version\` failed; set GO_BIN or install Go)` };
  return { go, version: r.stdout.trim() };
}

function goBuild(go: string, out: string, source: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // GOFLAGS=-buildvcs=false: the source sits in a git work tree; no VCS stamp is wanted.
    execFile(go, ['build', '-o', out, source], { env: { ...process.env, GOFLAGS: '-buildvcs=false' }, timeout: 300_000 }, (err, _o, stderr) => {
      if (err) reject(new Error(`go build of the upstream failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

export async function startUpstream(go: string): Promise<Upstream> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-upstream-'));
  const bin = join(dir, 'upstream');
  try {
    await goBuild(go, bin, join(repoRoot(), 'bench', 'e2e', 'upstream', 'upstream.go'));
    const { child, match } = await startReady(bin, ['127.0.0.1:0', '127.0.0.1:0'], { line: /^listening \S+:(\d+) \S+:(\d+)/ }, 'upstream');
    return {
      pid: child.pid!,
      ports: { v1: Number(match![1]), v2: Number(match![2]) },
      stop: async () => {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
