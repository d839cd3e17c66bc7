// A real Prometheus for tests (Debian's `prometheus`, scripts/install-prometheus.sh): started on
// loopback with a temporary storage directory and the test's scrape targets, queried over its
// HTTP API, stopped by the test. Absent → the suite skips with a message, unless
// WASMESH_REQUIRE_PROMETHEUS=1 (set by .ci/run after installing it), where absence fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../host/common/free-port.js';

export function prometheusForTests(suite: string): string | null {
  for (const candidate of [process.env.PROMETHEUS_BIN, '/usr/bin/prometheus', '/usr/local/bin/prometheus']) {
    if (candidate === undefined || candidate === '') continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  if (process.env.WASMESH_REQUIRE_PROMETHEUS === '1') {
    throw new Error(`${suite}: WASMESH_REQUIRE_PROMETHEUS=1 but no prometheus found (PROMETHEUS_BIN=${process.env.PROMETHEUS_BIN ?? 'unset'}; run scripts/install-prometheus.sh)`);
  }
  console.warn(`${suite}: prometheus not installed (run scripts/install-prometheus.sh or set PROMETHEUS_BIN); its tests are skipped`);
  return null;
}

export interface TestPrometheus {
  readonly port: number;
  /** An instant PromQL query: the vector's samples (labels, value). */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** Waits until every target has been scraped `times` more times (the API's lastScrape moves). */
  scrapes(times: number): Promise<void>;
  /** The log Prometheus wrote (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(bin: string, targets: readonly string[], scrapeIntervalS = 1): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-prometheus-'));
  const config = [
    'global:',
    `  scrape_interval: ${scrapeIntervalS}s`,
    `  evaluation_interval: ${scrapeIntervalS}s`,
    'scrape_configs:',
    '  - job_name: wasmesh',
    '    metrics_path: /stats/prometheus',
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort('127.0.0.1');
  let output = '';
  const child: ChildProcess = spawn(bin, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const api = async (path: string): Promise<unknown> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    const body = (await res.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/-/ready`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const lastScrapes = async (): Promise<number[]> => {
    const data = (await api('/api/v1/targets')) as { activeTargets: Array<{ lastScrape: string; health: string }> };
    return data.activeTargets.map((t) => (t.health === 'up' ? Date.parse(t.lastScrape) : 0));
  };
  return {
    port,
    log: () => output,
    stop,
    async query(promql) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async scrapes(times) {
      const start = await lastScrapes();
      const end = Date.now() + (times + 5) * scrapeIntervalS * 1000 + 10_000;
      for (;;) {
        const now = await lastScrapes();
        // Each target scraped `times` times after `start`: its lastScrape moved by that many intervals, and it is up.
        if (now.length === targets.length && now.every((t, i) => t > 0 && t - (start[i] ?? 0) >= (times - 0.5) * scrapeIntervalS * 1000)) return;
        if (Date.now() > end) throw new Error(`prometheus did not scrape every target ${times} times: ${JSON.stringify(await api('/api/v1/targets'))}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}
