// `--stats <host:port|off>`: Istio's Prometheus port (15090), `GET /stats/prometheus` with
// Envoy's stats and istio_*. On every interface by default, as Istio's sidecars bind it, so that
// Prometheus can scrape the pod's address (on the pod's wildcard: `[::]` where it has IPv6, so an
// IPv6-only pod is scraped on its address too); the admin API stays on loopback. The default address
// is optional (another proxy on the same host may hold it: the proxy then serves without it,
// with a warning); an address given explicitly must bind.
import { AppProber, parseAppProbers } from '../admin/app-prober.js';
import type { AppMetrics } from '../admin/merged-stats-port.js';
import type { FlagSpec, FlagValues } from './args.js';
import { hostPortFlag, UsageError } from './args.js';
import type { HostPort } from '../common/host-port.js';
import { onPodWildcard, type IpFamilies } from '../model/ip-families.js';

export const DEFAULT_STATS = '0.0.0.0:15090';

export const STATS_FLAG: FlagSpec = {
  name: 'stats', kind: 'string', valueName: '<host:port|off>', help: 'Istio\'s Prometheus port: GET /stats/prometheus (Envoy\'s stats and istio_*); off for none', defaultText: `${DEFAULT_STATS} (skipped with a warning when taken)`,
};

/** `families`: the pod's (a sidecar), for the default address; absent: 0.0.0.0. */
export function statsFromFlags(command: string, values: FlagValues, families?: IpFamilies): { at: HostPort; required: boolean } | undefined {
  const v = values.stats as string | undefined;
  if (v === 'off') return undefined;
  return { at: hostPortFlag(command, '--stats', v ?? (families ? onPodWildcard(DEFAULT_STATS, families) : DEFAULT_STATS)), required: v !== undefined };
}

export const DEFAULT_MERGED_STATS = '0.0.0.0:15020';

/** The sidecar's: Istio's agent port merging the proxy's metrics with the app's, and where the app's are. */
export const MERGED_STATS_FLAGS: FlagSpec[] = [
  { name: 'merged-stats', kind: 'string', valueName: '<host:port|off>', help: 'Istio\'s agent metrics port: GET /stats/prometheus with the proxy\'s metrics and the app\'s (--app-metrics); off for none', defaultText: `${DEFAULT_MERGED_STATS} (skipped with a warning when taken)` },
  { name: 'app-metrics', kind: 'string', valueName: '<port>[/path]', help: 'the app\'s Prometheus endpoint at --app-address (127.0.0.1; ::1 on an IPv6-only pod), merged into --merged-stats (the prometheus.io/port and prometheus.io/path annotations; path default /metrics)' },
  { name: 'app-probers', kind: 'string', valueName: '<json>', help: 'Istio\'s ISTIO_KUBE_APP_PROBERS: the app\'s original probes by /app-health/<container>/<readyz|livez|startupz> path, answered on --merged-stats (what kube-inject rewrites probes to)' },
];

/**
 * `appAddress`: where the app's metrics and probes are reached (the sidecar's --app-address: ::1 on
 * an IPv6-only pod); `families`: the pod's, for the default address (absent: 0.0.0.0).
 */
export function mergedStatsFromFlags(command: string, values: FlagValues, appAddress = '127.0.0.1', families?: IpFamilies): { at: HostPort; required: boolean; app?: AppMetrics; probers?: AppProber } | undefined {
  const v = values['merged-stats'] as string | undefined;
  const appText = values['app-metrics'] as string | undefined;
  const probersText = values['app-probers'] as string | undefined;
  if (v === 'off') {
    if (appText !== undefined) throw new UsageError(command, '--app-metrics goes with --merged-stats, which is off');
    if (probersText !== undefined) throw new UsageError(command, '--app-probers goes with --merged-stats, which is off');
    return undefined;
  }
  let probers: AppProber | undefined;
  if (probersText !== undefined) {
    try {
      probers = new AppProber(parseAppProbers(probersText), appAddress);
    } catch (err) {
      throw new UsageError(command, `--app-probers: ${(err as Error).message}`);
    }
  }
  let app: AppMetrics | undefined;
  if (appText !== undefined) {
    const m = /^(\d{1,5})(\/[!-~]*)?$/.exec(appText);
    const port = m ? Number(m[1]) : NaN;
    if (!m || port < 1 || port > 65535) throw new UsageError(command, `--app-metrics: expected <port>[/path] (1-65535), got "${appText}"`);
    app = { port, path: m[2] ?? '/metrics', host: appAddress };
  }
  return { at: hostPortFlag(command, '--merged-stats', v ?? (families ? onPodWildcard(DEFAULT_MERGED_STATS, families) : DEFAULT_MERGED_STATS)), required: v !== undefined, ...(app ? { app } : {}), ...(probers ? { probers } : {}) };
}
