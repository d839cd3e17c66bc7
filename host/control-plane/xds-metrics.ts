// The control plane's metrics under istiod's names, so Istio's dashboards read wasmesh:
// pilot_xds (connected proxies), pilot_xds_pushes (responses sent, by type),
// pilot_total_xds_rejects (NACKs, by type), pilot_proxy_convergence_time (config change → ACK,
// histogram with istiod's buckets), and the push bytes; rendered as Prometheus text.
import type { AdsEvents } from '../xds/ads-server.js';
import type { XdsNode } from '../xds/xds-node.js';

/** istiod's short type names in metric labels. */
export function shortType(typeUrl: string): string {
  if (typeUrl.endsWith('.Listener')) return 'lds';
  if (typeUrl.endsWith('.RouteConfiguration')) return 'rds';
  if (typeUrl.endsWith('.Cluster')) return 'cds';
  if (typeUrl.endsWith('.ClusterLoadAssignment')) return 'eds';
  if (typeUrl.includes('wasmesh')) return 'wasmesh';
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

/** istiod's buckets for pilot_proxy_convergence_time (seconds). */
export const CONVERGENCE_BUCKETS = [0.1, 0.5, 1, 3, 5, 10, 20, 30];

/** One extra sample rendered after the xDS metrics (a gauge or a counter without labels). */
export interface MetricLine {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly value: number;
}

export class XdsMetrics {
  connected = 0;
  readonly pushes = new Map<string, number>();
  readonly pushBytes = new Map<string, number>();
  readonly rejects = new Map<string, number>();
  readonly #buckets = CONVERGENCE_BUCKETS.map(() => 0);
  #count = 0;
  #sum = 0;
  /** Every convergence time observed (ms), for benchmarks (bounded). */
  readonly convergence: number[] = [];

  /** AdsServer events feeding these metrics (and `log`, for pushes, ACKs and NACKs). */
  events(log: (level: 'info' | 'warn', message: string) => void): AdsEvents {
    return {
      connected: () => void this.connected++,
      disconnected: () => void this.connected--,
      sent: (node: XdsNode, type, version, nonce, resources, bytes) => {
        const t = shortType(type);
        this.pushes.set(t, (this.pushes.get(t) ?? 0) + 1);
        this.pushBytes.set(t, (this.pushBytes.get(t) ?? 0) + bytes);
        log('info', `xDS: push ${t} version ${version} nonce ${nonce} to ${node.id} (${resources} resources, ${bytes} bytes)`);
      },
      acked: (node, type, version, ms) => {
        if (ms !== null) this.observe(ms);
        log('info', `xDS: ${node.id} ACKed ${shortType(type)} version ${version}`);
      },
      nacked: (node, type, version, message) => {
        const t = shortType(type);
        this.rejects.set(t, (this.rejects.get(t) ?? 0) + 1);
        log('warn', `xDS: ${node.id} NACKed ${t} version ${version}: ${message}`);
      },
    };
  }

  observe(ms: number): void {
    const s = ms / 1000;
    this.#count++;
    this.#sum += s;
    CONVERGENCE_BUCKETS.forEach((b, i) => {
      if (s <= b) this.#buckets[i]!++;
    });
    if (this.convergence.length < 100_000) this.convergence.push(ms);
  }

  /** Prometheus text exposition (version 0.0.4). */
  render(extra: readonly MetricLine[] = []): string {
    const lines: string[] = [];
    const metric = (name: string, help: string, type: string): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    metric('pilot_xds', 'Number of endpoints connected to this control plane using xDS.', 'gauge');
    lines.push(`pilot_xds ${this.connected}`);
    metric('pilot_xds_pushes', 'xDS responses sent, by type.', 'counter');
    for (const [t, n] of this.pushes) lines.push(`pilot_xds_pushes{type="${t}"} ${n}`);
    metric('pilot_xds_push_bytes', 'Bytes of resources sent in xDS responses, by type.', 'counter');
    for (const [t, n] of this.pushBytes) lines.push(`pilot_xds_push_bytes{type="${t}"} ${n}`);
    metric('pilot_total_xds_rejects', 'xDS responses rejected (NACKed) by proxies, by type.', 'counter');
    for (const [t, n] of this.rejects) lines.push(`pilot_total_xds_rejects{type="${t}"} ${n}`);
    metric('pilot_proxy_convergence_time', 'Delay in seconds between a config change and a proxy ACKing it.', 'histogram');
    CONVERGENCE_BUCKETS.forEach((b, i) => lines.push(`pilot_proxy_convergence_time_bucket{le="${b}"} ${this.#buckets[i]}`));
    lines.push(`pilot_proxy_convergence_time_bucket{le="+Inf"} ${this.#count}`);
    lines.push(`pilot_proxy_convergence_time_sum ${this.#sum}`);
    lines.push(`pilot_proxy_convergence_time_count ${this.#count}`);
    for (const e of extra) {
      metric(e.name, e.help, e.type);
      lines.push(`${e.name} ${e.value}`);
    }
    return lines.join('\n') + '\n';
  }
}
