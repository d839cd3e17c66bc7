// Smoke test of the TLS stack benchmark: the real harness (dist/bench/tls/stack.js) at a tiny size
// (1 s per phase, 50 idle connections) runs both stacks and writes a well-formed report, next to
// (never over) a result already there. No figure is compared with a goal. Without wrk it skips
// with the reason, unless WASMESH_REQUIRE_LOADGEN=1.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findLoadTools } from '../../../bench/e2e/load-tools.js';
import { ensureBuilt } from '../../helpers/wasmesh-process.js';
import { runBench } from '../../helpers/bench-runner.js';

const missing = findLoadTools().wrk === null ? 'wrk not found (apt install wrk, or scripts/install-loadgen.sh)' : null;
if (missing !== null && process.env.WASMESH_REQUIRE_LOADGEN === '1') throw new Error(`bench:tls smoke: WASMESH_REQUIRE_LOADGEN=1 but ${missing}`);
if (missing !== null) console.warn(`bench:tls smoke test skipped: ${missing}`);

interface StackResult {
  fullHandshake: { handshakesPerSecond: number; resumedShare: number; failed: number; serverCpuUsPerHandshake: number };
  resumedHandshake: { handshakesPerSecond: number; resumedShare: number; failed: number };
  keepAliveRequests: { requestsPerSecond: number; serverCpuUsPerRequest: number };
  idleConnections: { connections: number; bytesPerIdleConnection: number };
}

describe.skipIf(missing !== null)('bench:tls harness, tiny run', () => {
  const out = mkdtempSync(join(tmpdir(), 'wasmesh-tls-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('measures both stacks and writes the report beside an earlier one of the same day', async () => {
    await ensureBuilt();
    const today = `tls-stack-${new Date().toISOString().slice(0, 10)}.json`;
    writeFileSync(join(out, today), 'an earlier run\n');
    const { code, stderr } = await runBench('tls/stack.js', ['--seconds', '1', '--idle', '50', '--out', out]);
    expect(code, stderr).toBe(0);

    expect(readFileSync(join(out, today), 'utf8')).toBe('an earlier run\n');
    const second = today.replace('.json', '-2.json');
    expect(readdirSync(out).sort()).toEqual([today, second].sort());
    const report = JSON.parse(readFileSync(join(out, second), 'utf8')) as { setup: { seconds: number; idleConnections: number }; results: Record<string, StackResult> };
    expect(report.setup).toMatchObject({ seconds: 1, idleConnections: 50 });
    expect(Object.keys(report.results).sort()).toEqual(['node', 'uws']);
    for (const [stack, r] of Object.entries(report.results)) {
      expect(r.fullHandshake.handshakesPerSecond, stack).toBeGreaterThan(0);
      expect(r.fullHandshake.failed, stack).toBe(0);
      expect(r.fullHandshake.resumedShare, stack).toBe(0);
      // node:tls resumes with tickets; uWS's SSLApp issues none (docs/tls.md), so its share is 0.
      if (stack === 'node') expect(r.resumedHandshake.resumedShare, stack).toBeGreaterThan(0);
      expect(r.resumedHandshake.resumedShare, stack).toBeGreaterThanOrEqual(0);
      expect(r.resumedHandshake.resumedShare, stack).toBeLessThanOrEqual(1);
      expect(r.fullHandshake.serverCpuUsPerHandshake, stack).toBeGreaterThan(0);
      expect(r.keepAliveRequests.requestsPerSecond, stack).toBeGreaterThan(0);
      expect(r.keepAliveRequests.serverCpuUsPerRequest, stack).toBeGreaterThan(0);
      expect(r.idleConnections.connections, stack).toBe(50);
    }
  }, 120_000);

  it('refuses a bad --seconds with the flag named', async () => {
    await ensureBuilt();
    const { code, stderr } = await runBench('tls/stack.js', ['--seconds', '0.5', '--out', out]);
    expect(code).not.toBe(0);
    expect(stderr).toContain('--seconds must be a positive integer, got 0.5');
  });
});
