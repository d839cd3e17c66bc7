// Runs benchmark cases through Benchmark.js and formats the results: the one place that knows
// the `benchmark` package, so that each suite file only declares what it measures.
import Benchmark from 'benchmark';

/** One thing to time: `fn` is one operation (one parse, one match, one pick). */
export interface BenchCase {
  name: string;
  fn: () => void;
}

/** A ratio printed under a group: ops/s of `num` ÷ ops/s of `den` (case names). */
export interface RatioSpec {
  label: string;
  num: string;
  den: string;
}

export interface BenchGroup {
  /** Table heading, e.g. `parse · small GET (4 headers)`. */
  title: string;
  cases: BenchCase[];
  ratios?: RatioSpec[];
  /** Printed under the group (skipped baselines and the like). */
  notes?: string[];
}

export interface BenchSuite {
  title: string;
  /** What the suite measures, printed once above its groups. */
  about: string;
  groups: BenchGroup[];
}

export interface CaseResult {
  suite: string;
  group: string;
  name: string;
  /** Operations per second (Benchmark.js `hz`). */
  hz: number;
  /** Relative margin of error at 95 %, in percent. */
  rme: number;
  samples: number;
  error?: string;
}

export interface RatioResult {
  suite: string;
  group: string;
  label: string;
  ratio: number;
}

export interface RunOptions {
  /** Seconds per case (Benchmark.js maxTime); the default run uses 2, --quick far less. */
  maxTime: number;
  minSamples: number;
  /** Called after each case, e.g. to print progress. */
  onCase?: (r: CaseResult) => void;
}

/** Runs every case of every group synchronously and returns the results with the ratios. */
export function runSuite(suite: BenchSuite, opts: RunOptions): { cases: CaseResult[]; ratios: RatioResult[] } {
  const cases: CaseResult[] = [];
  const ratios: RatioResult[] = [];
  for (const group of suite.groups) {
    const byName = new Map<string, CaseResult>();
    const s = new Benchmark.Suite(group.title);
    for (const c of group.cases) {
      s.add(c.name, c.fn, { maxTime: opts.maxTime, minSamples: opts.minSamples });
    }
    s.on('cycle', (event) => {
      const t = event.target;
      const r: CaseResult = {
        suite: suite.title,
        group: group.title,
        name: t.name,
        hz: t.error ? 0 : t.hz,
        rme: t.error ? 0 : t.stats.rme,
        samples: t.error ? 0 : t.stats.sample.length,
        ...(t.error ? { error: String(t.error.message ?? t.error) } : {}),
      };
      cases.push(r);
      byName.set(r.name, r);
      opts.onCase?.(r);
    });
    s.run({ async: false });
    for (const spec of group.ratios ?? []) {
      const num = byName.get(spec.num);
      const den = byName.get(spec.den);
      if (num && den && num.hz > 0 && den.hz > 0) {
        ratios.push({ suite: suite.title, group: group.title, label: spec.label, ratio: num.hz / den.hz });
      }
    }
  }
  return { cases, ratios };
}

/** 1234567.8 → "1,234,568". */
export function formatHz(hz: number): string {
  return Math.round(hz).toLocaleString('en-US');
}

/** Formats one suite's results as a fixed-width table with ratios and notes under each group. */
export function formatSuite(suite: BenchSuite, cases: CaseResult[], ratios: RatioResult[]): string {
  const labels = suite.groups.flatMap((g) => [...g.cases.map((c) => c.name), ...(g.ratios ?? []).map((q) => 'ratio ' + q.label)]);
  const nameWidth = Math.max(24, ...labels.map((l) => l.length)) + 2;
  const lines: string[] = [`## ${suite.title}`, suite.about, ''];
  for (const group of suite.groups) {
    lines.push(`${group.title}`);
    for (const r of cases.filter((c) => c.group === group.title)) {
      const cols = r.error
        ? `error: ${r.error}`
        : `${formatHz(r.hz).padStart(14)} ops/s  ±${r.rme.toFixed(1).padStart(4)}%  (${r.samples} samples)`;
      lines.push(`  ${r.name.padEnd(nameWidth)}${cols}`);
    }
    for (const q of ratios.filter((x) => x.group === group.title)) {
      lines.push(`  ${('ratio ' + q.label).padEnd(nameWidth)}${q.ratio.toFixed(2).padStart(14)}×`);
    }
    for (const note of group.notes ?? []) lines.push(`  note: ${note}`);
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * Where results go so that V8 cannot prove a benchmarked call useless and delete it; each case
 * adds its call's result here and the total is printed at the end of the run.
 */
export const sink = { value: 0 };
