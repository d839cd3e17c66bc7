// The convergence benchmark's command line: `npm run bench:xds -- [--services N] [--endpoints M]
// [--proxies P] [--repeat R] [--debounce MS] [--no-envoy] [--out DIR] [--cp-node-arg ARG]`,
// validated with clear errors (flag, value, why).
import { join } from 'node:path';
import { repoRoot } from '../e2e/repo-root.js';

export interface XdsBenchOptions {
  services: number;
  endpointsPerService: number;
  /** Simulated proxies: half wasmesh (delta), a quarter Envoy SotW, a quarter Envoy delta. */
  proxies: number;
  repeat: number;
  /** The control plane's --debounce-after (ms). */
  debounceMs: number;
  /** Connect one stock Envoy (ENVOY_BIN) and time until it serves the new route. */
  envoy: boolean;
  outDir: string;
  /** Extra node flags for the control plane process (e.g. --cpu-prof). */
  cpNodeArgs: string[];
  /** With no response for this long, a change has converged (ms). */
  settleMs: number;
}

export const USAGE = `usage: npm run bench:xds -- [flags]
  --services N       services in the mesh (default 1000)
  --endpoints M      endpoints per service (default 3)
  --proxies P        simulated proxies over gRPC ADS (default 100): half wasmesh delta, a quarter
                     Envoy state of the world, a quarter Envoy delta
  --repeat R         changes of each kind (default 5)
  --debounce MS      the control plane's --debounce-after (default 100)
  --settle MS        quiet time after which a change counts as converged (default 1500)
  --no-envoy         no stock Envoy (default: one, when ENVOY_BIN or envoy is found)
  --out DIR          output folder (default bench/results)
  --cp-node-arg ARG  a node flag for the control plane process (repeatable), e.g. --cpu-prof`;

export class XdsBenchUsageError extends Error {}

function int(flag: string, text: string | undefined, min: number): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < min) throw new XdsBenchUsageError(`bench:xds: ${flag} expects an integer ≥ ${min}, got ${JSON.stringify(text)}\n${USAGE}`);
  return n;
}

export function parseOptions(argv: string[]): XdsBenchOptions {
  const o: XdsBenchOptions = {
    services: 1000, endpointsPerService: 3, proxies: 100, repeat: 5, debounceMs: 100, envoy: true,
    outDir: join(repoRoot(), 'bench', 'results'), cpNodeArgs: [], settleMs: 1500,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string | undefined => argv[++i];
    switch (flag) {
      case '--services': o.services = int(flag, value(), 2); break;
      case '--endpoints': o.endpointsPerService = int(flag, value(), 1); break;
      case '--proxies': o.proxies = int(flag, value(), 1); break;
      case '--repeat': o.repeat = int(flag, value(), 1); break;
      case '--debounce': o.debounceMs = int(flag, value(), 0); break;
      case '--settle': o.settleMs = int(flag, value(), 100); break;
      case '--no-envoy': o.envoy = false; break;
      case '--out': {
        const v = value();
        if (!v) throw new XdsBenchUsageError(`bench:xds: --out expects a folder\n${USAGE}`);
        o.outDir = v;
        break;
      }
      case '--cp-node-arg': {
        const v = value();
        if (!v) throw new XdsBenchUsageError(`bench:xds: --cp-node-arg expects a node flag\n${USAGE}`);
        o.cpNodeArgs.push(v);
        break;
      }
      case '--help': case '-h': throw new XdsBenchUsageError(USAGE);
      default: throw new XdsBenchUsageError(`bench:xds: unknown flag ${JSON.stringify(flag)}\n${USAGE}`);
    }
  }
  if (o.endpointsPerService > 8) throw new XdsBenchUsageError(`bench:xds: --endpoints ${o.endpointsPerService}: at most 8 (the hot service's endpoints are local servers)`);
  return o;
}

/** The kind of simulated proxy i of n: wasmesh delta for the first half, then Envoy SotW and delta alternating. */
export function simKindOf(i: number, n: number): 'wasmesh-delta' | 'envoy-sotw' | 'envoy-delta' {
  if (i < Math.ceil(n / 2)) return 'wasmesh-delta';
  return (i - Math.ceil(n / 2)) % 2 === 0 ? 'envoy-sotw' : 'envoy-delta';
}
