// Smoke test of the convergence benchmark: the real harness (dist/bench/xds/run.js) at a tiny size
// (20 services, 5 simulated proxies, 1 change of each kind) against the real control plane process
// and, when installed, one stock Envoy; the report must be well formed and its figures plausible.
// No figure is compared with a goal. Without Envoy it runs with --no-envoy, unless
// WASMESH_REQUIRE_ENVOY=1, where a missing Envoy fails (envoyForTests).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { XDS_REPORT_SCHEMA, type XdsReport } from '../../../bench/xds/report.js';
import { envoyForTests } from '../../helpers/envoy-for-tests.js';
import { ensureBuilt } from '../../helpers/wasmesh-process.js';
import { runBench } from '../../helpers/bench-runner.js';

const envoy = envoyForTests('bench:xds smoke');

describe('bench:xds harness, tiny run', () => {
  const out = mkdtempSync(join(tmpdir(), 'wasmesh-xds-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('connects the proxies, times a route and an endpoint change, and writes JSON and Markdown', async () => {
    await ensureBuilt();
    const args = ['--services', '20', '--proxies', '5', '--repeat', '1', '--settle', '600', '--out', out, ...(envoy === null ? ['--no-envoy'] : [])];
    const { code, stdout, stderr } = await runBench('xds/run.js', args);
    expect(code, stderr).toBe(0);

    const written = readdirSync(out).sort();
    expect(written).toHaveLength(2);
    expect(written[0]).toMatch(/^xds-\d{4}-\d{2}-\d{2}\.json$/);
    const r = JSON.parse(readFileSync(join(out, written[0]!), 'utf8')) as XdsReport;
    expect(r.schema).toBe(XDS_REPORT_SCHEMA);
    expect(r.settings).toMatchObject({ services: 20, endpointsPerService: 3, proxies: 5, repeat: 1 });
    expect(r.settings.mix).toEqual({ 'wasmesh-delta': 3, 'envoy-sotw': 1, 'envoy-delta': 1 });
    expect(r.envoy.connected).toBe(envoy !== null);

    // The full push: every kind received its config; a wasmesh proxy's is one msgpack resource.
    for (const k of ['wasmesh-delta', 'envoy-sotw', 'envoy-delta'] as const) expect(r.fullPush.bytesPerProxy[k]).toBeGreaterThan(1000);
    expect(r.controlPlane.connectMs).toBeGreaterThan(0);
    expect(r.controlPlane.connectCpuSeconds).toBeGreaterThan(0);
    expect(r.controlPlane.peakRssMiB).toBeGreaterThan(20);
    expect(r.controlPlane.connectPeakRssMiB).toBeGreaterThanOrEqual(r.controlPlane.idleRssMiB);
    expect(r.controlPlane.peakRssMiB).toBeGreaterThanOrEqual(r.controlPlane.connectPeakRssMiB);
    expect(r.controlPlane.convergenceMetric!.count).toBeGreaterThan(0);

    expect(r.samples.map((s) => s.kind)).toEqual(['route', 'endpoint']);
    for (const s of r.samples) {
      // Every simulated proxy sees both changes (each routes to every service).
      expect(s.affected, s.kind).toBe(5);
      expect(s.proxyMs).toHaveLength(5);
      expect([...s.proxyKinds].sort()).toEqual(['envoy-delta', 'envoy-sotw', 'wasmesh-delta', 'wasmesh-delta', 'wasmesh-delta']);
      // Nothing is pushed before the debounce's quiet period has passed.
      for (const ms of s.proxyMs) expect(ms).toBeGreaterThanOrEqual(r.settings.debounceMs);
      expect(s.allAckedMs).toBe(Math.max(...s.proxyMs));
      expect(s.bytes).toBeGreaterThan(0);
      expect(s.bytes).toBeLessThan(r.fullPush.bytes);
      expect(s.cpuSeconds).toBeGreaterThanOrEqual(0);
    }
    const route = r.samples[0]!;
    const endpoint = r.samples[1]!;
    // An endpoint change reaches a delta Envoy as one ClusterLoadAssignment, far less than its routes.
    expect(endpoint.bytesByKind['envoy-delta']).toBeGreaterThan(0);
    expect(endpoint.bytesByKind['envoy-delta']).toBeLessThan(route.bytesByKind['envoy-delta']);
    if (envoy !== null) {
      expect(route.envoyServeMs).toBeGreaterThan(0);
      expect(r.summary[0]!.envoyServeMs!.p50).toBe(route.envoyServeMs);
      // Endpoint changes reached Envoy as one ClusterLoadAssignment and left the others in place.
      expect(r.envoy.note).toMatch(/held the hot service's current endpoints and 3 for svc-19/);
    } else expect(route.envoyServeMs).toBeNull();
    expect(r.summary.map((s) => s.kind)).toEqual(['route', 'endpoint']);
    expect(r.summary[0]!.proxyMsAfterDebounce.p50).toBeCloseTo(r.summary[0]!.proxyMs.p50 - r.settings.debounceMs, 6);
    expect(r.goals.map((g) => g.met).every((m) => typeof m === 'boolean')).toBe(true);

    const md = readFileSync(join(out, written[1]!), 'utf8');
    expect(md).toMatch(/^# wasmesh control-plane convergence benchmark/);
    expect(md).toMatch(/\| one VirtualService \| 5 \| [\d.]+ \|/);
    expect(md).toMatch(/\| one endpoint \| 5 \| [\d.]+ \|/);
    expect(md).toMatch(/\| one endpoint \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \|/);
    expect(md).not.toMatch(/NaN|undefined|Infinity/);
    expect(stdout).toBe(md);
  }, 120_000);
});
