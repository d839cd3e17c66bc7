// A/B timing of the request-head parser across builds, for before/after figures on a busy
// machine: the variants run in short alternating rounds (so a load spike hits them alike),
// and the median and best round per variant are printed, each as a ratio to the first
// variant's. Benchmark.js runs one case for seconds before the next, so on a shared
// machine its before/after ratios carry whatever load arrived in between; these do not.
//
//   node dist/bench/ab-parser.js core=/tmp/old-core.wasm core=build/core.wasm
//   node dist/bench/ab-parser.js api=/tmp/old-checkout/dist api=dist
//
// `core=<file>`: HeadParser.parseRequest (the numeric path) on that core.wasm, this host.
// `api=<dist dir>`: parseRequestHead from that build of the host (its dist/ folder), on the
// core WASMESH_CORE_WASM names (default build/core.wasm), so only the host code differs.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HeadParser } from '../host/core/codec/head-parser.js';
import { Core } from '../host/core/wasm.js';
import { REQUEST_HEADS, type RequestHeadSample } from './request-heads.js';

export interface Variant {
  label: string;
  /** One operation on `sample`; returns the header count it saw (checked every round). */
  run: (sample: RequestHeadSample) => number;
}

export interface AbRow {
  sample: string;
  label: string;
  medianNs: number;
  bestNs: number;
  /** Median ÷ the first variant's median (below 1: faster). */
  ratio: number;
  /**
   * Best ÷ the first variant's best. Load on a shared machine only ever adds time, so on a
   * busy machine the best rounds are the least disturbed and this ratio the steadier one.
   */
  bestRatio: number;
}

const USAGE = 'usage: node dist/bench/ab-parser.js [--rounds N] core=<core.wasm>|api=<dist dir> ...';

/** Builds a variant from `core=<file>` or `api=<dist dir>`. */
export async function variant(spec: string): Promise<Variant> {
  const eq = spec.indexOf('=');
  const kind = spec.slice(0, eq);
  const path = spec.slice(eq + 1);
  if (eq < 0 || !path) throw new Error(`ab-parser: bad variant ${JSON.stringify(spec)}\n${USAGE}`);
  if (kind === 'core') {
    const p = new HeadParser(new Core(new WebAssembly.Module(readFileSync(path))));
    return { label: spec, run: (s) => (p.parseRequest(s.bytes) === 0 ? p.headerCount : -1) };
  }
  if (kind === 'api') {
    const url = pathToFileURL(resolve(path, 'host/codec/parse-head.js')).href;
    const mod = (await import(url)) as { parseRequestHead: (b: Uint8Array) => { status: string; headers?: unknown[] } };
    return { label: spec, run: (s) => { const h = mod.parseRequestHead(s.bytes); return h.status === 'ok' ? h.headers!.length : -1; } };
  }
  throw new Error(`ab-parser: variant kind ${JSON.stringify(kind)} is not core or api\n${USAGE}`);
}

/** Times every variant on every sample in `rounds` alternating rounds of `ops` operations. */
export function abRun(variants: Variant[], rounds: number, ops: (s: RequestHeadSample) => number): AbRow[] {
  const rows: AbRow[] = [];
  for (const sample of REQUEST_HEADS) {
    const n = ops(sample);
    const times = variants.map(() => [] as number[]);
    // Round -1 warms every variant up (JIT tiers) and is not recorded.
    for (let r = -1; r < rounds; r++) {
      for (let v = 0; v < variants.length; v++) {
        const run = variants[v].run;
        let seen = 0;
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) seen += run(sample);
        if (r >= 0) times[v].push(Number(process.hrtime.bigint() - t0) / n);
        // A variant that stopped parsing would look fast: every round's result is checked.
        if (seen !== n * sample.headerCount) throw new Error(`ab-parser: ${variants[v].label} misparsed "${sample.name}"`);
      }
    }
    const medians = times.map((t) => t.sort((a, b) => a - b)[t.length >> 1]);
    variants.forEach((v, i) => rows.push({
      sample: sample.name, label: v.label, medianNs: medians[i], bestNs: times[i][0],
      ratio: medians[i] / medians[0], bestRatio: times[i][0] / times[0][0],
    }));
  }
  return rows;
}

export function formatAb(rows: AbRow[]): string {
  const width = Math.max(...rows.map((r) => r.label.length)) + 2;
  const lines: string[] = [];
  let sample = '';
  for (const r of rows) {
    if (r.sample !== sample) lines.push((sample = r.sample));
    const ops = Math.round(1e9 / r.medianNs).toLocaleString('en-US');
    const best = Math.round(1e9 / r.bestNs).toLocaleString('en-US');
    lines.push(
      `  ${r.label.padEnd(width)}median ${r.medianNs.toFixed(0).padStart(6)} ns (${ops.padStart(10)} ops/s) ×${r.ratio.toFixed(2)}` +
        `   best ${r.bestNs.toFixed(0).padStart(6)} ns (${best.padStart(10)} ops/s) ×${r.bestRatio.toFixed(2)}`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let rounds = 30;
  const specs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--rounds') rounds = Number(args[++i]);
    else specs.push(args[i]);
  }
  if (specs.length === 0 || !Number.isInteger(rounds) || rounds < 1) throw new Error(USAGE);
  const variants = await Promise.all(specs.map(variant));
  console.log(`# parser A/B, ${rounds} alternating rounds per sample, ${new Date().toISOString()}\ncommand   node dist/bench/ab-parser.js ${args.join(' ')}`);
  // About 20 ms per round per variant at the old core's speed: long enough to time, short
  // enough that rounds interleave finely.
  console.log(formatAb(abRun(variants, rounds, (s) => Math.max(500, Math.round(4e6 / s.bytes.length)))));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: Error) => {
    console.error(e.message);
    process.exit(2);
  });
}
