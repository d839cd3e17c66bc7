// `npm run bench:xds`: control-plane convergence. Writes a synthetic mesh (N services × M
// endpoints, a VirtualService each, a Gateway), starts `wasmesh control-plane` on it as its own
// process (so /proc measures its CPU and memory alone), connects P simulated proxies over real gRPC
// ADS streams from this process and, when Envoy is installed, one stock Envoy gateway; then
// changes one VirtualService and one endpoint, R times each, timing from the file write until
// every affected proxy ACKed (and until Envoy serves the new route). Writes
// bench/results/xds-<date>.{json,md} and prints the Markdown.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEnvoy } from '../../host/envoy/find-envoy.js';
import { machineFacts, formatMachine } from '../machine.js';
import { cpuSeconds, statusMiB, UsageMeter } from '../e2e/proc-stats.js';
import { freePort, killChildren, startReady, stopChild } from '../e2e/processes.js';
import { repoRoot } from '../e2e/repo-root.js';
import { hotYaml, serviceHost, writeMesh, type HotState } from './mesh-yaml.js';
import { parseOptions, simKindOf, XdsBenchUsageError, type XdsBenchOptions } from './options.js';
import { goals, markdownReport, summarize, XDS_REPORT_SCHEMA, type ChangeKind, type ChangeSample, type XdsReport } from './report.js';
import { SimProxy, type SimKind } from './sim-proxy.js';
import { clusterHosts, startHotUpstreams, startStockEnvoy, untilServes, type StockEnvoy } from './stock-envoy.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const KINDS: SimKind[] = ['wasmesh-delta', 'envoy-sotw', 'envoy-delta'];
const zero = (): Record<SimKind, number> => ({ 'wasmesh-delta': 0, 'envoy-sotw': 0, 'envoy-delta': 0 });

/** Resolves once no proxy has received anything for `settleMs` (and at least one has, since `since`); the last response's time. */
async function quiet(sims: SimProxy[], since: number, settleMs: number, timeoutMs: number, what: string): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let last = -1;
    for (const s of sims) {
      const r = s.received[s.received.length - 1];
      if (r && r.at >= since && r.at > last) last = r.at;
    }
    const failed = sims.find((s) => s.error !== null);
    if (failed) throw new Error(`bench:xds: ${what}: proxy ${failed.id} (${failed.kind}) lost its stream: ${failed.error}`);
    if (last >= 0 && performance.now() - last >= settleMs) return last;
    if (performance.now() > deadline) throw new Error(`bench:xds: ${what}: ${last < 0 ? 'no proxy received anything' : 'responses did not stop'} within ${timeoutMs / 1000} s`);
    await sleep(Math.min(50, settleMs / 4));
  }
}

/** The control plane's /debug/syncz entries (host/control-plane/monitoring-server.ts): its version and each proxy's per-type state. */
async function syncz(monitoringPort: number): Promise<Array<{ proxy: string; controlPlaneVersion: number; types: Record<string, { state: string }> }>> {
  const res = await fetch(`http://127.0.0.1:${monitoringPort}/debug/syncz`);
  if (res.status !== 200) throw new Error(`bench:xds: /debug/syncz: ${res.status}`);
  return (await res.json()) as Array<{ proxy: string; controlPlaneVersion: number; types: Record<string, { state: string }> }>;
}

/** The control plane's config version (0 before any proxy connected: syncz lists none). */
async function cpVersion(monitoringPort: number): Promise<number> {
  return (await syncz(monitoringPort))[0]?.controlPlaneVersion ?? 0;
}

/**
 * quiet(), then the control plane's own word that the change converged: a version past
 * `afterVersion` loaded and, for at least `proxies` connected proxies, everything sent ACKed
 * (each type SYNCED, or IGNORED when not asked for). Silence alone is a time: on a loaded
 * machine one proxy's push can come later than settleMs after the others' and be left out of
 * the sample. Asked once per quiet period (not polled during the change: the control plane's
 * CPU is what is measured); a quiet period that ended too early is waited out again.
 */
async function converged(sims: SimProxy[], since: number, o: XdsBenchOptions, monitoringPort: number, afterVersion: number, proxies: number, timeoutMs: number, what: string): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const last = await quiet(sims, since, o.settleMs, Math.max(1, deadline - performance.now()), what);
    const entries = await syncz(monitoringPort);
    const done = entries.length >= proxies && entries.every((e) => e.controlPlaneVersion > afterVersion && Object.values(e.types).every((t) => t.state === 'SYNCED' || t.state === 'IGNORED'));
    if (done) return last;
    if (performance.now() > deadline) throw new Error(`bench:xds: ${what}: not converged within ${timeoutMs / 1000} s: ${JSON.stringify(entries.map((e) => [e.proxy, e.controlPlaneVersion, e.types]))}`);
    await sleep(Math.min(50, o.settleMs / 4));
  }
}

async function scrapeConvergence(monitoringPort: number): Promise<{ count: number; sumSeconds: number } | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${monitoringPort}/metrics`)).text();
    const count = text.match(/^pilot_proxy_convergence_time_count (\S+)$/m);
    const sum = text.match(/^pilot_proxy_convergence_time_sum (\S+)$/m);
    return count && sum ? { count: Number(count[1]), sumSeconds: Number(sum[1]) } : null;
  } catch {
    return null;
  }
}

/**
 * After the changes, stock Envoy must hold the hot service's current endpoints and every other
 * cluster's too: endpoint changes reach a state-of-the-world Envoy as the changed
 * ClusterLoadAssignment alone, which must not drop the others.
 */
async function checkEnvoyEndpoints(envoy: StockEnvoy, o: XdsBenchOptions, up: { ports: number[]; spare: number }, state: HotState): Promise<string> {
  const ports = [...up.ports];
  if (state.endpointFlip === 1) ports[ports.length - 1] = up.spare;
  const want = ports.slice(0, o.endpointsPerService).map((p) => `127.0.0.1:${p}`).sort();
  const cluster = (i: number): string => `outbound|80||${serviceHost(i)}`;
  const deadline = performance.now() + 10_000;
  let hot: string[] = [];
  while (performance.now() < deadline) {
    hot = await clusterHosts(envoy.adminPort, cluster(0));
    if (JSON.stringify(hot) === JSON.stringify(want)) break;
    await sleep(100);
  }
  if (JSON.stringify(hot) !== JSON.stringify(want)) throw new Error(`bench:xds: stock Envoy's ${cluster(0)} has ${hot.join(', ')}, not the current ${want.join(', ')}`);
  const other = await clusterHosts(envoy.adminPort, cluster(o.services - 1));
  if (other.length !== o.endpointsPerService) throw new Error(`bench:xds: stock Envoy's ${cluster(o.services - 1)} has ${other.length} endpoints after the changes, not ${o.endpointsPerService}`);
  return `after the changes its /clusters held the hot service's current endpoints and ${o.endpointsPerService} for svc-${o.services - 1}, as the control plane serves them`;
}

export async function runXdsBench(o: XdsBenchOptions, command: string): Promise<XdsReport> {
  const root = repoRoot();
  const machine = machineFacts();
  log(formatMachine(machine));
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-bench-xds-'));
  const upstreams = await startHotUpstreams(o.endpointsPerService);
  const shape = { services: o.services, endpointsPerService: o.endpointsPerService };
  const state: HotState = { routeVersion: 1, endpointFlip: 0 };
  const gatewayPort = await freePort();
  const hot = writeMesh(dir, shape, upstreams, state, gatewayPort);
  const xdsPort = await freePort();
  const monitoringPort = await freePort();
  const sims: SimProxy[] = [];
  let envoy: StockEnvoy | null = null;
  const cpArgs = [...o.cpNodeArgs, join(root, 'bin', 'wasmesh.js'), 'control-plane', '-f', dir, '--xds-listen', `127.0.0.1:${xdsPort}`, '--monitoring', `127.0.0.1:${monitoringPort}`, '--debounce-after', `${o.debounceMs}ms`];
  log(`control plane: node ${cpArgs.join(' ')}`);
  const cp = await startReady(process.execPath, cpArgs, { url: `http://127.0.0.1:${monitoringPort}/ready` }, 'wasmesh control-plane', { timeoutMs: 120_000 });
  const pid = cp.child.pid!;
  try {
    const idleRssMiB = statusMiB(pid, 'VmRSS');
    const meter = new UsageMeter(pid);
    log(`control plane ready (pid ${pid}, ${idleRssMiB.toFixed(0)} MiB); connecting ${o.proxies} proxies`);

    // Every proxy at once, as after a control-plane restart: the full push.
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    for (let i = 0; i < o.proxies; i++) sims.push(new SimProxy({ port: xdsPort, kind: simKindOf(i, o.proxies), index: i + 1 }));
    const lastAt = await converged(sims, t0, o, monitoringPort, 0, o.proxies, 300_000, 'connecting');
    const connectCpuSeconds = cpuSeconds(pid) - cpu0;
    const connectPeakRssMiB = statusMiB(pid, 'VmHWM');
    for (const s of sims) {
      const types = new Set(s.received.map((r) => r.type));
      const want = s.kind === 'wasmesh-delta' ? 1 : 4;
      if (types.size < want) throw new Error(`bench:xds: proxy ${s.id} (${s.kind}) received ${types.size} of its ${want} types: ${[...types].join(', ')}`);
    }
    const fullByKind = zero();
    const countByKind = zero();
    for (const s of sims) {
      countByKind[s.kind]++;
      for (const r of s.received) fullByKind[s.kind] += r.bytes;
    }
    const fullBytes = KINDS.reduce((n, k) => n + fullByKind[k], 0);
    log(`connected: ${(fullBytes / 1024).toFixed(0)} KiB in ${(lastAt - t0).toFixed(0)} ms, ${connectCpuSeconds.toFixed(2)} CPU s`);

    let envoyNote = 'not connected (--no-envoy)';
    if (o.envoy) {
      const bin = findEnvoy();
      if (bin === null) envoyNote = 'not connected: Envoy not installed (ENVOY_BIN unset, no .venv Envoy)';
      else {
        envoy = await startStockEnvoy(bin, root, xdsPort, false);
        const ms = await untilServes(gatewayPort, String(state.routeVersion), performance.now(), 60_000, 20);
        if (ms === null) throw new Error(`bench:xds: stock Envoy never served route version ${state.routeVersion}:\n${envoy.started.output()}`);
        envoyNote = `${bin} (state of the world, a gateway given the same ${o.services.toLocaleString('en-US')} clusters); timed by GETs through its listener every 2 ms until the upstream echoes the new route's header value`;
        log(`stock Envoy serving (its first config in ${ms.toFixed(0)} ms after ready)`);
        // Let the simulated proxies' counters settle past Envoy's own connection.
        await sleep(o.settleMs);
      }
    }

    const samples: ChangeSample[] = [];
    for (let rep = 1; rep <= o.repeat; rep++) {
      for (const kind of ['route', 'endpoint'] as ChangeKind[]) {
        if (kind === 'route') state.routeVersion++;
        else state.endpointFlip = state.endpointFlip === 0 ? 1 : 0;
        const text = hotYaml(shape, upstreams, state, gatewayPort);
        const versionBefore = await cpVersion(monitoringPort);
        const c0 = cpuSeconds(pid);
        const start = performance.now();
        writeFileSync(hot, text);
        const serving = kind === 'route' && envoy !== null ? untilServes(gatewayPort, String(state.routeVersion), start, 120_000) : Promise.resolve(null);
        await converged(sims, start, o, monitoringPort, versionBefore, sims.length, 300_000, `${kind} change ${rep}`);
        const envoyServeMs = await serving;
        if (kind === 'route' && envoy !== null && envoyServeMs === null) throw new Error(`bench:xds: stock Envoy never served route version ${state.routeVersion}`);
        const cpu = cpuSeconds(pid) - c0;
        const proxyMs: number[] = [];
        const proxyKinds: SimKind[] = [];
        const bytesByKind = zero();
        let bytes = 0;
        let responses = 0;
        for (const s of sims) {
          const got = s.since(start);
          if (got.length === 0) continue;
          proxyMs.push(got[got.length - 1]!.at - start);
          proxyKinds.push(s.kind);
          for (const r of got) {
            bytesByKind[s.kind] += r.bytes;
            bytes += r.bytes;
          }
          responses += got.length;
        }
        const sample: ChangeSample = { kind, rep, affected: proxyMs.length, proxyMs, proxyKinds, allAckedMs: Math.max(...proxyMs), bytes, bytesByKind, responses, cpuSeconds: cpu, rssMiB: statusMiB(pid, 'VmRSS'), envoyServeMs };
        samples.push(sample);
        log(`${kind} change ${rep}: ${sample.affected} proxies, all ACKed in ${sample.allAckedMs.toFixed(1)} ms, ${(bytes / 1024).toFixed(1)} KiB in ${responses} responses, ${cpu.toFixed(2)} CPU s, RSS ${sample.rssMiB.toFixed(0)} MiB${envoyServeMs !== null ? `, Envoy serves it after ${envoyServeMs.toFixed(1)} ms` : ''}`);
      }
    }
    if (envoy !== null) envoyNote += `; ${await checkEnvoyEndpoints(envoy, o, upstreams, state)}`;
    const usage = meter.stop();
    const peakRssMiB = statusMiB(pid, 'VmHWM');
    const summary = (['route', 'endpoint'] as ChangeKind[]).map((k) => summarize(samples, k, fullBytes, o.debounceMs));
    const mix = zero();
    for (let i = 0; i < o.proxies; i++) mix[simKindOf(i, o.proxies)]++;
    return {
      schema: XDS_REPORT_SCHEMA,
      machine,
      settings: { services: o.services, endpointsPerService: o.endpointsPerService, proxies: o.proxies, mix, repeat: o.repeat, debounceMs: o.debounceMs, settleMs: o.settleMs, cpNodeArgs: o.cpNodeArgs, command },
      controlPlane: { idleRssMiB, connectPeakRssMiB, peakRssMiB, peakAnonMiB: usage.peakAnonMiB, connectMs: lastAt - t0, connectCpuSeconds, convergenceMetric: await scrapeConvergence(monitoringPort) },
      fullPush: {
        bytes: fullBytes,
        bytesByKind: fullByKind,
        bytesPerProxy: Object.fromEntries(KINDS.map((k) => [k, countByKind[k] ? fullByKind[k] / countByKind[k] : 0])) as Record<SimKind, number>,
      },
      envoy: { connected: envoy !== null, note: envoyNote },
      samples,
      summary,
      goals: goals(summary, peakRssMiB),
    };
  } finally {
    for (const s of sims) s.close();
    await envoy?.close();
    await stopChild(cp.child);
    await upstreams.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes xds-<date>.json and .md into `outDir`; returns their paths. */
export function writeReport(report: XdsReport, outDir: string): { json: string; md: string } {
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, `xds-${report.machine.date.slice(0, 10)}`);
  const files = { json: `${stem}.json`, md: `${stem}.md` };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.md, markdownReport(report));
  return files;
}

async function main(): Promise<void> {
  let o: XdsBenchOptions;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof XdsBenchUsageError) {
      log(err.message);
      process.exit(2);
    }
    throw err;
  }
  // Ctrl-C must not leave a control plane or an Envoy running on the machine.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => {
    killChildren();
    process.exit(130);
  });
  const command = `npm run bench:xds${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const report = await runXdsBench(o, command);
  const files = writeReport(report, o.outDir);
  log(`wrote ${files.json} and ${files.md}`);
  process.stdout.write(markdownReport(report));
  // gRPC channels may hold the loop open for a moment after close.
  process.exit(0);
}

main().catch((err: unknown) => {
  killChildren();
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
