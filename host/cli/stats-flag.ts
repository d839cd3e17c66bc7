// `--stats <host:port|off>`: Istio's Prometheus port (15090), `GET /stats/prometheus` with
// Envoy's stats and istio_*. On every interface by default, as Istio's sidecars bind it, so that
// Prometheus can scrape the pod's address; the admin API stays on loopback. The default address
// is optional (another proxy on the same host may hold it: the proxy then serves without it,
// with a warning); an address given explicitly must bind.
import type { FlagSpec, FlagValues } from './args.js';
import { hostPortFlag } from './args.js';
import type { HostPort } from '../common/host-port.js';

export const DEFAULT_STATS = '0.0.0.0:15090';

export const STATS_FLAG: FlagSpec = {
  name: 'stats', kind: 'string', valueName: '<host:port|off>', help: 'Istio\'s Prometheus port: GET /stats/prometheus (Envoy\'s stats and istio_*); off for none', defaultText: `${DEFAULT_STATS} (skipped with a warning when taken)`,
};

export function statsFromFlags(command: string, values: FlagValues): { at: HostPort; required: boolean } | undefined {
  const v = values.stats as string | undefined;
  if (v === 'off') return undefined;
  return { at: hostPortFlag(command, '--stats', v ?? DEFAULT_STATS), required: v !== undefined };
}
