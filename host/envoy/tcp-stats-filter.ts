// The wasmesh_tcp_stats network filter (filters/stats/tcp-stats-filter.ts): Istio's TCP metrics
// (istio_tcp_*) for stock Envoy's tcp_proxy chains, put right before each chain's tcp_proxy, as
// Istio's istio.stats network filter sits. Same module and VM as the wasmesh_stats HTTP filter
// (wasmesh-stats.wasm, vm_id wasmesh_stats), same plugin configuration format
// (stats-plugin-config.ts).
import { encodeStatsPluginConfig, type StatsPluginOptions } from './stats-plugin-config.js';
import { TCP_PROXY_FILTER } from './tcp-proxy-listeners.js';
import { wasmPluginConfig } from './wasm-plugin-config.js';
import type { Obj } from './istio-resources.js';

export const TCP_STATS_ROOT_ID = 'wasmesh_tcp_stats';
/** The stats module's VM (filters-bootstrap.ts STATS_VM_ID): one VM per worker for both filters. */
const STATS_VM_ID = 'wasmesh_stats';

/** The network filter for one listener (its reporter and workload in `o`). */
export function tcpStatsNetworkFilter(o: StatsPluginOptions, statsWasmPath: string): Obj {
  return {
    name: 'envoy.filters.network.wasm',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm',
      config: wasmPluginConfig(TCP_STATS_ROOT_ID, statsWasmPath, new TextEncoder().encode(encodeStatsPluginConfig(o)), STATS_VM_ID),
    },
  };
}

/** `listener` with the filter before the tcp_proxy of each chain that has one; other chains as they are. */
export function withTcpIstioStats(listener: Obj, o: StatsPluginOptions, statsWasmPath: string): Obj {
  const chains = listener.filter_chains;
  if (!Array.isArray(chains)) return listener;
  let filter: Obj | null = null;
  let changed = false;
  const out = (chains as Obj[]).map((chain) => {
    const filters = Array.isArray(chain.filters) ? (chain.filters as Obj[]) : [];
    const at = filters.findIndex((f) => f.name === TCP_PROXY_FILTER);
    if (at < 0 || filters.some((f) => f.name === 'envoy.filters.network.wasm' && ((f.typed_config as Obj | undefined)?.config as Obj | undefined)?.root_id === TCP_STATS_ROOT_ID)) return chain;
    changed = true;
    filter ??= tcpStatsNetworkFilter(o, statsWasmPath);
    return { ...chain, filters: [...filters.slice(0, at), filter, ...filters.slice(at)] };
  });
  return changed ? { ...listener, filter_chains: out } : listener;
}
