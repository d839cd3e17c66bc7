// `npm run bench`: wasmesh's micro-benchmarks (request-head parser, route match, 1,000-rule
// table, weighted pick, load balancers), printed as a table with the machine facts; `--quick` for a smoke run, `--json <file>`
// to keep the raw results. See BENCHMARKS.md for what each figure means.
import { writeFileSync } from 'node:fs';
import { formatMachine, machineFacts } from './machine.js';
import { parserSuite } from './parser-suite.js';
import { lbSuite } from './lb-suite.js';
import { pickSuite } from './pick-suite.js';
import { routeSuite } from './route-suite.js';
import { ruleTableSuite } from './rule-table-suite.js';
import { authzSuite } from './authz-suite.js';
import { rateLimitSuite } from './ratelimit-suite.js';
import { istioSuite } from './istio-suite.js';
import { tracingSuite } from './tracing-suite.js';
import { formatSuite, runSuite, sink, type BenchSuite, type CaseResult, type RatioResult } from './runner.js';
import { formatJwtFigures, jwtFigures } from './jwt-suite.js';

export interface MicroOptions {
  quick: boolean;
  json: string | null;
  /** Only suites whose key contains this (parser, route, route-rules, pick, lb, authz, jwt, ratelimit, istio, tracing), e.g. `--only parser`. */
  only: string | null;
}

const USAGE = 'usage: node dist/bench/micro.js [--quick] [--json <file>] [--only parser|route|route-rules|pick|lb|authz|jwt|ratelimit|istio|tracing]';

export function parseArgs(argv: string[]): MicroOptions {
  const opts: MicroOptions = { quick: false, json: null, only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--json' || a === '--only') {
      const v = argv[++i];
      if (!v || v.startsWith('--')) throw new Error(`bench: ${a} needs a value\n${USAGE}`);
      if (a === '--json') opts.json = v;
      else opts.only = v.toLowerCase();
    } else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else throw new Error(`bench: unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return opts;
}

export interface MicroReport {
  machine: ReturnType<typeof machineFacts>;
  command: string;
  options: { quick: boolean; maxTime: number; minSamples: number };
  cases: CaseResult[];
  ratios: RatioResult[];
}

/** All suites, in the order they run. */
export const SUITES: ReadonlyArray<{ key: string; make: () => BenchSuite }> = [
  { key: 'parser', make: parserSuite },
  { key: 'route', make: routeSuite },
  { key: 'route-rules', make: ruleTableSuite },
  { key: 'pick', make: pickSuite },
  { key: 'lb', make: lbSuite },
  { key: 'authz', make: authzSuite },
  { key: 'ratelimit', make: rateLimitSuite },
  { key: 'istio', make: istioSuite },
  { key: 'tracing', make: tracingSuite },
];

/** Runs the selected suites, writing the table to `out` as it goes; returns the raw results. */
export function runMicro(
  opts: MicroOptions,
  out: (text: string) => void,
  argv: string[] = [],
  /** Overrides the per-case time budget; the smoke test runs each case for a few ms. */
  budget?: { maxTime: number; minSamples: number },
): MicroReport {
  const machine = machineFacts();
  // --quick is a smoke run (is everything wired, are the figures sane), not a measurement.
  const run = budget ?? (opts.quick ? { maxTime: 0.05, minSamples: 2 } : { maxTime: 2, minSamples: 5 });
  const command = ['node dist/bench/micro.js', ...argv].join(' ');
  out(`# wasmesh micro-benchmarks${opts.quick ? ' (--quick: smoke run, figures are rough)' : ''}\n${formatMachine(machine)}\ncommand   ${command}\n`);
  const report: MicroReport = { machine, command, options: { quick: opts.quick, ...run }, cases: [], ratios: [] };
  for (const { key, make } of SUITES) {
    if (opts.only && !key.includes(opts.only)) continue;
    // Built lazily, so --only skips the others' setup (compiling 10,000 routes takes a while).
    const suite = make();
    const { cases, ratios } = runSuite(suite, run);
    report.cases.push(...cases);
    report.ratios.push(...ratios);
    out(formatSuite(suite, cases, ratios));
  }
  out(`(sink ${sink.value > 0 ? 'ok' : 'EMPTY: results were not consumed'})`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n');
  return report;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let opts: MicroOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const report = runMicro(opts, (t) => console.log(t), argv);
  // Asynchronous (jose), so after the Benchmark.js suites: `--only jwt` runs it alone.
  if (!opts.only || 'jwt'.includes(opts.only)) console.log(formatJwtFigures(await jwtFigures(opts.quick)));
  const failed = report.cases.filter((c) => c.error);
  if (failed.length) {
    console.error(`bench: ${failed.length} case(s) failed: ${failed.map((c) => `${c.group} / ${c.name}: ${c.error}`).join('; ')}`);
    process.exit(1);
  }
}

// Run only when executed directly, so that the smoke test can import runMicro.
if (import.meta.url === `file://${process.argv[1]}`) void main();
