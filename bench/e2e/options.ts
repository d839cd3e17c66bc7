// The harness's command line: `npm run bench:e2e -- [--reps N] [--duration S] [--workers 1,2]
// [--rates 1000,5000] [--quick] [--out DIR] [--no-benchmarks-md] [--profile] [--mtls | --policy | --telemetry | --telemetry-pair]`, validated with
// clear errors (flag, value, why).
import { join } from 'node:path';
import { repoRoot } from './repo-root.js';
import type { Mode } from './report-types.js';
import { CONTENDERS, DEFAULT_CONTENDERS, MTLS_CONTENDERS, POLICY_CONTENDERS, TELEMETRY_CONTENDERS, TELEMETRY_PAIR_CONTENDERS, type ContenderName } from './contenders.js';

export interface E2eOptions {
  reps: number;
  durationS: number;
  warmupS: number;
  workers: number[];
  modes: Mode[];
  quick: boolean;
  /** Where e2e-<date>.{json,md,svg} go. */
  outDir: string;
  /** Rewrite BENCHMARKS.md's "## End-to-end" section. */
  benchmarksMd: boolean;
  /** After the runs, profile wasmesh under throughput load with `node --cpu-prof`. */
  profile: boolean;
  /** Which contenders run (default all), e.g. to compare wasmesh and Envoy alone while tuning. */
  contenders: ContenderName[];
  /** Extra node flags for the wasmesh process (V8 heap settings under study). */
  wasmeshNodeArgs: string[];
  /** The mTLS mode: idle mTLS connections opened to each pair's inbound sidecar for memory per connection (0: skip). */
  idleConnections: number;
  /** Run nothing: re-render the outputs from this saved e2e-*.json (after a report change). */
  render?: string;
}

export const USAGE = `usage: npm run bench:e2e -- [flags]
  --reps N            repetitions, contenders alternating within each (default 3; --quick 1)
  --duration S        seconds per load run (default 10; --quick 2)
  --workers LIST      worker counts for every proxy, e.g. 1,2 (default 1,2; --quick 1)
  --rates LIST        fixed-rate modes in requests/s (default 1000,5000)
  --connections N     throughput-mode connections (default 64)
  --quick             smoke run: 1 rep, 2 s runs, 1 worker (figures are rough)
  --out DIR           output folder (default bench/results)
  --no-benchmarks-md  leave BENCHMARKS.md alone (default: rewrite its "## End-to-end" section
                      unless --quick or --out is given)
  --contenders LIST   which to run, from direct,wasmesh,envoy,envoy+filters,wasmesh-mtls,
                      envoy-mtls,wasmesh-policy,envoy-policy,wasmesh-notel,wasmesh-telemetry,
                      envoy-telemetry,wasmesh-pair-notel,wasmesh-pair-telemetry,
                      envoy-pair-telemetry (default the first four; a partial run leaves
                      BENCHMARKS.md alone)
  --mtls              the mTLS mode: --contenders direct,wasmesh-mtls,envoy-mtls (a sidecar
                      pair with STRICT mTLS between them, wasmesh's and stock Envoy's)
  --policy            the policy mode: --contenders wasmesh,wasmesh-policy,envoy,envoy-policy
                      (the gateway without and with 10 AuthorizationPolicies and JWT
                      verification; every request carries a valid token)
  --telemetry         the telemetry mode (issue 14): --contenders wasmesh-notel,wasmesh,
                      wasmesh-telemetry,envoy-telemetry (the gateway with telemetry off, with
                      Istio's metrics (the default), with the metrics and 1 % Zipkin tracing to
                      a span sink in the harness; stock Envoy with its stats and the same tracing)
  --telemetry-pair    the telemetry mode with both reporters (issue 14): --contenders
                      wasmesh-pair-notel,wasmesh-pair-telemetry,envoy-pair-telemetry (client →
                      client side's proxy (source reporter) → app's sidecar (destination
                      reporter) → upstream, plain HTTP between them; wasmesh with telemetry off
                      on both, with the metrics on both and 1 % tracing; two stock Envoys with
                      their stats and the same tracing); fails unless both reporters reported
  --idle-connections N  the mTLS mode: idle mTLS connections opened to each pair's inbound
                      sidecar to measure memory per connection (default 500; --quick 50; 0 skips)
  --node-args ARGS    extra node flags for wasmesh, space-separated (e.g. "--max-semi-space-size=2")
  --profile           then profile wasmesh under throughput load (node --cpu-prof): top self time
  --render FILE       measure nothing: rewrite the outputs from a saved e2e-*.json`;

export class OptionsError extends Error {
  readonly code = 'E2E_BAD_OPTION';
}

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n <= 0) throw new OptionsError(`${flag}: expected a positive integer, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  return n;
}

function intList(flag: string, v: string | undefined): number[] {
  if (v === undefined) throw new OptionsError(`${flag}: expected a comma-separated list of positive integers, got nothing`);
  return v.split(',').map((x) => positiveInt(flag, x.trim()));
}

export function parseOptions(argv: readonly string[]): E2eOptions | 'help' {
  const args = [...argv];
  let reps: number | undefined;
  let durationS: number | undefined;
  let workers: number[] | undefined;
  let rates = [1000, 5000];
  let connections = 64;
  let quick = false;
  let outDir: string | undefined;
  let benchmarksMd: boolean | undefined;
  let profile = false;
  let render: string | undefined;
  let only: ContenderName[] | undefined;
  let nodeArgs: string[] = [];
  let idleConnections: number | undefined;
  while (args.length > 0) {
    const flag = args.shift()!;
    switch (flag) {
      case '--reps': reps = positiveInt(flag, args.shift()); break;
      case '--duration': durationS = positiveInt(flag, args.shift()); break;
      case '--workers': workers = intList(flag, args.shift()); break;
      case '--rates': rates = intList(flag, args.shift()); break;
      case '--connections': connections = positiveInt(flag, args.shift()); break;
      case '--quick': quick = true; break;
      case '--out': outDir = args.shift(); if (!outDir) throw new OptionsError('--out: expected a folder'); break;
      case '--no-benchmarks-md': benchmarksMd = false; break;
      case '--profile': profile = true; break;
      case '--contenders': {
        const v = args.shift();
        const names = (v ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
        const bad = names.filter((n) => !(CONTENDERS as readonly string[]).includes(n));
        if (names.length === 0 || bad.length > 0) throw new OptionsError(`--contenders: expected names from ${CONTENDERS.join(',')}, got ${JSON.stringify(v ?? '')}`);
        only = names as ContenderName[];
        break;
      }
      case '--idle-connections': {
        const v = args.shift();
        idleConnections = v === '0' ? 0 : positiveInt(flag, v);
        break;
      }
      case '--mtls': only = [...MTLS_CONTENDERS]; break;
      case '--policy': only = [...POLICY_CONTENDERS]; break;
      case '--telemetry': only = [...TELEMETRY_CONTENDERS]; break;
      case '--telemetry-pair': only = [...TELEMETRY_PAIR_CONTENDERS]; break;
      case '--node-args': {
        const v = args.shift();
        if (!v) throw new OptionsError('--node-args: expected node flags, e.g. "--max-semi-space-size=2"');
        nodeArgs = v.split(/\s+/).filter((x) => x !== '');
        if (nodeArgs.some((a) => !a.startsWith('--'))) throw new OptionsError(`--node-args: every node flag starts with --, got ${JSON.stringify(v)}`);
        break;
      }
      case '--render': render = args.shift(); if (!render) throw new OptionsError('--render: expected an e2e-*.json file'); break;
      case '-h': case '--help': return 'help';
      default: throw new OptionsError(`unknown flag ${JSON.stringify(flag)}\n${USAGE}`);
    }
  }
  const modes: Mode[] = [
    // Two wrk threads: enough to saturate one proxy worker without taking both cores.
    { name: 'throughput', kind: 'throughput', connections, threads: 2 },
    ...rates.map((qps): Mode => ({ name: `rate-${qps}`, kind: 'fixed-rate', connections: 16, qps })),
  ];
  return {
    reps: reps ?? (quick ? 1 : 3),
    durationS: durationS ?? (quick ? 2 : 10),
    warmupS: quick ? 1 : 3,
    workers: workers ?? (quick ? [1] : [1, 2]),
    modes,
    quick,
    outDir: outDir ?? join(repoRoot(), 'bench', 'results'),
    benchmarksMd: benchmarksMd ?? (!quick && outDir === undefined && only === undefined && nodeArgs.length === 0),
    contenders: only ?? [...DEFAULT_CONTENDERS],
    wasmeshNodeArgs: nodeArgs,
    profile,
    idleConnections: idleConnections ?? (quick ? 50 : 500),
    ...(render !== undefined ? { render } : {}),
  };
}
