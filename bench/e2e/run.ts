// `npm run bench:e2e`: the end-to-end benchmark. Starts the upstream, then per worker count every
// proxy, and measures direct / wasmesh / Envoy / Envoy + wasmesh filters alternately (every mode, every contender, in
// each repetition) so drift on a shared machine hits all of them alike; writes JSON, Markdown and
// an SVG chart under bench/results/ and the "## End-to-end" section of BENCHMARKS.md.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { machineFacts, formatMachine } from '../machine.js';
import { updateBenchmarksMd } from './benchmarks-md.js';
import { contenders, TRACING_CONTENDERS, type Contender, type ContenderName, type RunningContender } from './contenders.js';
import { findLoadTools } from './load-tools.js';
import { benchmarksSection, markdownReport } from './markdown-report.js';
import { measure, driveLoad } from './measure.js';
import { idleMtlsConnections } from './idle-connections.js';
import { checkMtls } from './mtls-check.js';
import { issuePairCertificates } from './mtls-pair.js';
import { policyCredentials } from './policy-token.js';
import { startSpanSink } from './span-sink.js';
import { OptionsError, parseOptions, USAGE, type E2eOptions } from './options.js';
import { killChildren } from './processes.js';
import { profileWasmesh } from './proxy-profile.js';
import { REPORT_SCHEMA, type E2eReport, type IdleMtlsRecord, type MtlsCheckRecord, type ReporterCheckRecord, type RunRecord } from './report-types.js';
import { repoRoot } from './repo-root.js';
import { ratios, summarize } from './summarize.js';
import { svgChart } from './svg-chart.js';
import { goToolchain, startUpstream, type Upstream } from './upstream.js';

/** The benchmark YAML with the upstream's ports filled in, in a fresh temporary folder. */
function writeMesh(upstream: Upstream): string {
  const src = join(repoRoot(), 'bench', 'e2e', 'config');
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-mesh-'));
  for (const name of readdirSync(src).filter((n) => /\.ya?ml$/.test(n))) {
    const text = readFileSync(join(src, name), 'utf8')
      .replaceAll('${V1_PORT}', String(upstream.ports.v1))
      .replaceAll('${V2_PORT}', String(upstream.ports.v2));
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/**
 * The policy mode's YAML: the benchmark's (already in `meshDir`) plus bench/e2e/config-policy/
 * with the run's JWKS filled in, in a fresh temporary folder.
 */
function writePolicyMesh(meshDir: string, jwks: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-policy-mesh-'));
  for (const name of readdirSync(meshDir)) writeFileSync(join(dir, name), readFileSync(join(meshDir, name)));
  const src = join(repoRoot(), 'bench', 'e2e', 'config-policy');
  for (const name of readdirSync(src).filter((n) => /\.ya?ml$/.test(n))) {
    writeFileSync(join(dir, name), readFileSync(join(src, name), 'utf8').replaceAll('${JWKS}', jwks));
  }
  return dir;
}

/**
 * The telemetry mode's YAML: the benchmark's (already in `meshDir`) plus bench/e2e/config-telemetry/
 * with the span sink's port filled in, in a fresh temporary folder.
 */
function writeTelemetryMesh(meshDir: string, sinkPort: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-telemetry-mesh-'));
  for (const name of readdirSync(meshDir)) writeFileSync(join(dir, name), readFileSync(join(meshDir, name)));
  const src = join(repoRoot(), 'bench', 'e2e', 'config-telemetry');
  for (const name of readdirSync(src).filter((n) => /\.ya?ml$/.test(n))) {
    writeFileSync(join(dir, name), readFileSync(join(src, name), 'utf8').replaceAll('${SINK_PORT}', String(sinkPort)));
  }
  return dir;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Rotates `xs` left by `n`: repetition r starts with a different contender. */
function rotate<T>(xs: readonly T[], n: number): T[] {
  const k = n % Math.max(1, xs.length);
  return [...xs.slice(k), ...xs.slice(0, k)];
}

export async function runE2e(opts: E2eOptions, command: string): Promise<E2eReport> {
  const machine = machineFacts();
  log(formatMachine(machine));
  log(`command   ${command}`);
  const tools = findLoadTools();
  const go = goToolchain();
  if (go.go === null) throw new Error(go.reason);
  const notes: string[] = [];
  const modes = opts.modes.filter((m) => {
    const missing = m.kind === 'throughput' ? (tools.wrk ? null : 'wrk') : tools.fortio ? null : 'fortio';
    if (missing) notes.push(`mode ${m.name} skipped: ${missing} not found (scripts/install-loadgen.sh installs it)`);
    return missing === null;
  });
  if (modes.length === 0) throw new Error('neither wrk nor fortio found: run scripts/install-loadgen.sh (or set WRK_BIN / FORTIO_BIN)');

  const upstream = await startUpstream(go.go);
  const meshDir = writeMesh(upstream);
  // The mTLS contenders' CA and certificates, issued once for the run.
  const mtlsDir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-mtls-'));
  const mtls = opts.contenders.some((c) => c.endsWith('-mtls')) ? await issuePairCertificates(mtlsDir) : undefined;
  // The policy contenders' YAML and token; with them, every contender's load carries the token.
  const policy = opts.contenders.some((c) => c.endsWith('-policy')) ? await policyCredentials() : undefined;
  const policyMeshDir = policy ? writePolicyMesh(meshDir, policy.jwks) : undefined;
  const headers = policy ? [policy.header] : undefined;
  // The telemetry contenders' trace collector, one for the run; spans counted per contender.
  const sink = opts.contenders.some((c) => TRACING_CONTENDERS.includes(c)) ? await startSpanSink() : undefined;
  const telemetryMeshDir = sink ? writeTelemetryMesh(meshDir, sink.port) : undefined;
  const spanSinkPort = sink?.port;
  if (policy) notes.push('policy mode: every request of every contender carries `Authorization: Bearer <RS256 token>`; the -policy contenders verify it and evaluate 10 AuthorizationPolicies (bench/e2e/config-policy/)');
  const envoyWarnings = new Set<string>();
  // Warnings name the temporary copy of the YAML; report them against the committed one.
  const srcDir = join('bench', 'e2e', 'config');
  const all = contenders({ meshDir, upstream, mtls, ...(policyMeshDir ? { policyMeshDir } : {}), ...(telemetryMeshDir ? { telemetryMeshDir } : {}), ...(spanSinkPort ? { spanSinkPort } : {}), wasmeshNodeArgs: opts.wasmeshNodeArgs, onEnvoyWarnings: (ws) => ws.forEach((w) => envoyWarnings.add(w.replaceAll(meshDir, srcDir))) }).filter((c) => opts.contenders.includes(c.name));
  const unavailable = new Map<ContenderName, Record<string, string>>(all.map((c) => [c.name, {}]));
  const runs: RunRecord[] = [];
  const mtlsChecks: MtlsCheckRecord[] = [];
  const idleMtls: IdleMtlsRecord[] = [];
  const reporterChecks: ReporterCheckRecord[] = [];
  const spanCounts: Array<{ contender: ContenderName; requests: number; spans: number }> = [];
  try {
    log(`upstream  pid ${upstream.pid}, ports ${upstream.ports.v1} (v1) and ${upstream.ports.v2} (v2)`);
    for (const workers of opts.workers) {
      const started = new Map<ContenderName, RunningContender>();
      try {
        for (const c of all) {
          const why = c.unavailable(workers);
          if (why !== null) {
            unavailable.get(c.name)![String(workers)] = why;
            log(`${c.name}: not run at ${workers} worker(s): ${why}`);
            continue;
          }
          try {
            const r = await c.start(workers);
            if (r.inbound && mtls) {
              // A pair that cannot prove mTLS is not measured: its figures would be plaintext's.
              try {
                const facts = await checkMtls(r.url, r.inbound, mtls);
                mtlsChecks.push({ contender: c.name, workers, facts });
                log(`${c.name}: mTLS verified: ${facts.join('; ')}`);
              } catch (err) {
                await r.stop();
                throw err;
              }
            }
            started.set(c.name, r);
            log(`${c.name.padEnd(14)} pid ${r.pid}, ${r.url} (${workers} worker(s)); warming up ${opts.warmupS} s`);
            // Warm-up, unrecorded: JIT, connection pools, page faults.
            await driveLoad(tools, modes[0], r.url, opts.warmupS, headers).catch((e: Error) => log(`  warm-up failed: ${e.message.split('\n')[0]}`));
          } catch (err) {
            unavailable.get(c.name)![String(workers)] = `failed to start: ${(err as Error).message.split('\n')[0]}`;
            log(`${c.name}: failed to start at ${workers} worker(s): ${(err as Error).message}`);
          }
        }
        const order = all.filter((c) => started.has(c.name));
        for (let rep = 1; rep <= opts.reps; rep++) {
          for (const mode of modes) {
            for (const c of rotate(order, rep - 1)) {
              const spansBefore = sink?.spans() ?? 0;
              const rec = await measure(tools, mode, started.get(c.name)!, { rep, workers, contender: c.name }, opts.durationS, headers);
              runs.push(rec);
              log(describeRun(rec));
              if (sink && TRACING_CONTENDERS.includes(c.name)) spanCounts.push({ contender: c.name, requests: rec.load?.requests ?? 0, spans: sink.spans() - spansBefore });
            }
          }
        }
        // A contender whose figures claim more than a load through it shows (both reporters
        // reporting) proves it now, or the run fails: no figure of it is written.
        for (const c of order) {
          const r = started.get(c.name)!;
          if (!r.verify) continue;
          let facts: string[];
          try {
            facts = await r.verify();
          } catch (err) {
            throw new Error(`${c.name}, ${workers} worker(s): ${(err as Error).message}`);
          }
          reporterChecks.push({ contender: c.name, workers, facts });
          for (const f of facts) log(`${c.name}: ${f}`);
        }
        if (mtls && opts.idleConnections > 0) {
          for (const c of order) {
            const r = started.get(c.name)!;
            if (!r.inbound) continue;
            try {
              const rec = await idleMtlsConnections(r.inbound, mtls, opts.idleConnections, { contender: c.name, workers });
              idleMtls.push(rec);
              log(`${c.name.padEnd(14)}${rec.connections} idle mTLS connections on the inbound sidecar: RSS ${rec.rssBeforeMiB.toFixed(1)} → ${rec.rssAfterMiB.toFixed(1)} MiB ` +
                `(${rec.kibPerConnection.toFixed(1)} KiB each), anon ${rec.anonBeforeMiB.toFixed(1)} → ${rec.anonAfterMiB.toFixed(1)} MiB (${rec.anonKibPerConnection.toFixed(1)} KiB each)`);
            } catch (err) {
              notes.push(`${c.name}, ${workers} worker(s): idle mTLS connections not measured: ${(err as Error).message.split('\n')[0]}`);
              log(`${c.name}: idle mTLS connections failed: ${(err as Error).message}`);
            }
          }
        }
      } finally {
        for (const r of started.values()) await r.stop();
      }
    }
  } finally {
    await upstream.stop();
    await sink?.close();
    rmSync(meshDir, { recursive: true, force: true });
    rmSync(mtlsDir, { recursive: true, force: true });
    if (policyMeshDir) rmSync(policyMeshDir, { recursive: true, force: true });
    if (telemetryMeshDir) rmSync(telemetryMeshDir, { recursive: true, force: true });
  }
  const telemetrySpans: Array<{ contender: string; requests: number; spans: number }> = [];
  if (sink) {
    // Spans arrive in batches after the requests (wasmesh and Envoy flush on a timer): a run's count is
    // approximate, the total is not. Sampled at 1 %, a request makes two spans (the stream and its attempt) on wasmesh.
    for (const name of TRACING_CONTENDERS.filter((n) => opts.contenders.includes(n))) {
      const mine = spanCounts.filter((x) => x.contender === name);
      const requests = mine.reduce((a, x) => a + x.requests, 0);
      const spans = mine.reduce((a, x) => a + x.spans, 0);
      telemetrySpans.push({ contender: name, requests, spans });
      notes.push(`telemetry mode: ${name} exported ${spans.toLocaleString('en-US')} spans to the span sink for ${requests.toLocaleString('en-US')} measured requests ` +
        `(${requests > 0 ? ((100 * spans) / requests).toFixed(2) : '?'} spans per 100 requests; 1 % sampling, spans counted as they arrived during each run)`);
    }
    if (sink.unreadable() > 0) notes.push(`telemetry mode: ${sink.unreadable()} batches to the span sink were not Zipkin v2 JSON arrays (not counted as spans)`);
    if (opts.contenders.some((c) => c === 'wasmesh-telemetry' || c === 'envoy-telemetry')) {
      notes.push('telemetry mode: one gateway (`wasmesh proxy --gateway`, stock Envoy from `wasmesh envoy-config`), so Istio\'s metrics are those of the source reporter; ' +
        'the destination reporter (a sidecar\'s inbound) is in the `--telemetry-pair` mode');
    }
    if (opts.contenders.some((c) => c.includes('-pair-'))) {
      notes.push('telemetry pair mode: client → client side\'s proxy (source reporter) → plain HTTP → app\'s sidecar inbound (destination reporter) → upstream; ' +
        'the peer metadata crosses in x-envoy-peer-metadata headers both ways; plain HTTP between the sidecars so that the figures compare telemetry, not TLS (the `--mtls` mode measures that); ' +
        'after the runs each wasmesh-pair-telemetry start proved both reporters reported with their peer known (reporterChecks), or the run failed');
    }
  }

  const summary = summarize(runs);
  const report: E2eReport = {
    schema: REPORT_SCHEMA,
    machine,
    command,
    settings: { reps: opts.reps, durationS: opts.durationS, warmupS: opts.warmupS, workers: opts.workers, modes, quick: opts.quick },
    tools: {
      ...(tools.versions.wrk ? { wrk: tools.versions.wrk } : {}),
      ...(tools.versions.fortio ? { fortio: tools.versions.fortio } : {}),
      go: go.version,
      node: process.version,
    },
    contenders: all.map((c) => ({ name: c.name, description: c.describe(), unavailable: unavailable.get(c.name)! })),
    envoyWarnings: [...envoyWarnings],
    runs,
    summary,
    ratios: ratios(summary, opts.workers, modes.map((m) => m.name)),
    notes,
    ...(mtls ? { mtlsChecks, idleMtls } : {}),
    ...(sink ? { telemetrySpans } : {}),
    ...(reporterChecks.length > 0 ? { reporterChecks } : {}),
  };
  if (opts.profile) await profileOnce(opts, report);
  return report;
}

/**
 * One profiled wasmesh run after the measured ones, on a fresh upstream: nothing else loaded. The
 * mTLS mode profiles the wasmesh pair (both sidecars) instead of the single proxy.
 */
async function profileOnce(opts: E2eOptions, report: E2eReport): Promise<void> {
  const go = goToolchain();
  if (go.go === null) return;
  const tools = findLoadTools();
  const mode = report.settings.modes.find((m) => m.kind === 'throughput');
  if (!mode || !tools.wrk) {
    report.notes.push('profile skipped: the throughput mode (wrk) is not available');
    return;
  }
  const upstream = await startUpstream(go.go);
  const meshDir = writeMesh(upstream);
  const mtlsDir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-mtls-'));
  let policyMeshDir: string | undefined;
  let telemetryMeshDir: string | undefined;
  const sink = opts.contenders.includes('wasmesh-telemetry') || opts.contenders.includes('wasmesh-pair-telemetry') ? await startSpanSink() : undefined;
  try {
    if (sink) telemetryMeshDir = writeTelemetryMesh(meshDir, sink.port);
    const mtls = opts.contenders.includes('wasmesh-mtls') ? await issuePairCertificates(mtlsDir) : undefined;
    // The policy mode profiles both wasmesh contenders under the same token-carrying load.
    const policy = opts.contenders.includes('wasmesh-policy') ? await policyCredentials() : undefined;
    if (policy) policyMeshDir = writePolicyMesh(meshDir, policy.jwks);
    const headers = policy ? [policy.header] : undefined;
    const make = (name: ContenderName) => (nodeArgs: string[]): Contender =>
      contenders({ meshDir, upstream, mtls, ...(policyMeshDir ? { policyMeshDir } : {}), ...(telemetryMeshDir ? { telemetryMeshDir } : {}), ...(sink ? { spanSinkPort: sink.port } : {}), wasmeshNodeArgs: [...opts.wasmeshNodeArgs, ...nodeArgs] }).find((c) => c.name === name)!;
    if (opts.contenders.includes('wasmesh')) {
      log(`profiling wasmesh under throughput load (${opts.durationS} s)`);
      report.profile = (await profileWasmesh(make('wasmesh'), tools, mode, opts.warmupS, opts.durationS, 15, undefined, headers))[0];
    }
    if (policy) {
      log(`profiling wasmesh with the policies under throughput load (${opts.durationS} s)`);
      report.policyProfile = (await profileWasmesh(make('wasmesh-policy'), tools, mode, opts.warmupS, opts.durationS, 25, ['wasmesh proxy with the policies and JWT'], headers))[0];
    }
    if (opts.contenders.includes('wasmesh-pair-telemetry')) {
      // Both pairs, so that the telemetry's share shows against the same path without it.
      const roles = (what: string) => [`the client side's proxy (${what})`, `the app's sidecar (${what})`];
      log(`profiling the wasmesh pair with telemetry off, then on (both reporters, 1 % tracing), under throughput load (${opts.durationS} s each)`);
      report.pairNotelProfiles = await profileWasmesh(make('wasmesh-pair-notel'), tools, mode, opts.warmupS, opts.durationS, 15, roles('telemetry off'));
      report.pairTelemetryProfiles = await profileWasmesh(make('wasmesh-pair-telemetry'), tools, mode, opts.warmupS, opts.durationS, 25, roles('source reporter, 1 % tracing').map((r, i) => (i === 1 ? r.replace('source', 'destination') : r)));
    }
    if (opts.contenders.includes('wasmesh-telemetry')) {
      log(`profiling wasmesh with Istio's metrics and 1 % tracing under throughput load (${opts.durationS} s)`);
      report.telemetryProfile = (await profileWasmesh(make('wasmesh-telemetry'), tools, mode, opts.warmupS, opts.durationS, 25, ['wasmesh proxy with Istio\'s metrics and 1 % tracing']))[0];
    }
    if (mtls) {
      log(`profiling the wasmesh mTLS pair under throughput load (${opts.durationS} s)`);
      report.mtlsProfiles = await profileWasmesh(make('wasmesh-mtls'), tools, mode, opts.warmupS, opts.durationS, 15,
        ['the outbound sidecar (wasmesh proxy, originating mTLS)', 'the inbound sidecar (wasmesh sidecar, STRICT)']);
    }
  } catch (err) {
    report.notes.push(`profile failed: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    await upstream.stop();
    await sink?.close();
    rmSync(meshDir, { recursive: true, force: true });
    rmSync(mtlsDir, { recursive: true, force: true });
    if (policyMeshDir) rmSync(policyMeshDir, { recursive: true, force: true });
    if (telemetryMeshDir) rmSync(telemetryMeshDir, { recursive: true, force: true });
  }
}

function describeRun(r: RunRecord): string {
  const head = `rep ${r.rep} w${r.workers} ${r.mode.padEnd(10)} ${r.contender.padEnd(13)}`;
  if (!r.ok || !r.load) return `${head} FAILED: ${r.error}`;
  const l = r.load;
  return `${head} ${Math.round(l.rps).toString().padStart(7)} req/s  p50 ${l.latencyMs.p50.toFixed(3)} p99 ${l.latencyMs.p99.toFixed(3)} max ${l.latencyMs.max.toFixed(1)} ms` +
    `  cpu ${r.cpuSecondsPer1k!.toFixed(3)} s/1k  rss ${r.peakRssMiB!.toFixed(1)} MiB  anon ${r.peakAnonMiB?.toFixed(1) ?? '?'} MiB${l.errors ? `  errors ${JSON.stringify(l.errorKinds)}` : ''}${r.rateNotHeld ? '  RATE NOT HELD' : ''}`;
}

/** A saved report, checked to be one (the schema tag) before anything is overwritten from it. */
function readReport(file: string): E2eReport {
  const report = JSON.parse(readFileSync(file, 'utf8')) as E2eReport;
  if (report.schema !== REPORT_SCHEMA) throw new Error(`${file}: not an end-to-end report (schema ${JSON.stringify(report.schema)}, expected ${REPORT_SCHEMA})`);
  return report;
}

/**
 * Writes e2e-<date>.{json,md,svg} into `outDir`; returns their paths. Dated files only, no
 * e2e-latest copy: the newest report is the last e2e-* name in order, and BENCHMARKS.md's
 * "## End-to-end" section links the one it quotes.
 */
export function writeOutputs(report: E2eReport, outDir: string): { json: string; md: string; svg: string } {
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, `e2e-${report.machine.date.slice(0, 10)}`);
  const files = { json: `${stem}.json`, md: `${stem}.md`, svg: `${stem}.svg` };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.md, markdownReport(report));
  writeFileSync(files.svg, svgChart(report));
  return files;
}

async function main(): Promise<number> {
  let opts: E2eOptions | 'help';
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof OptionsError) {
      log(`bench:e2e: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (opts === 'help') {
    log(USAGE);
    return 0;
  }
  // Ctrl-C (or a CI time-out) must not leave an upstream and proxies running on the machine.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killChildren();
      log(`bench:e2e: ${signal}: stopped the upstream and proxies`);
      process.exit(130);
    });
  }
  const command = ['npm run bench:e2e', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const report = opts.render !== undefined ? readReport(opts.render) : await runE2e(opts, command);
  const files = writeOutputs(report, opts.outDir);
  log(`wrote ${files.json}, ${files.md}, ${files.svg}`);
  if (opts.benchmarksMd) {
    const root = repoRoot();
    const rel = (p: string): string => relative(root, p);
    updateBenchmarksMd(join(root, 'BENCHMARKS.md'), benchmarksSection(report, { json: rel(files.json), md: rel(files.md), svg: rel(files.svg) }));
    log('updated BENCHMARKS.md (## End-to-end)');
  }
  process.stdout.write(markdownReport(report));
  return report.runs.some((r) => r.ok) ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      log(`bench:e2e: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
