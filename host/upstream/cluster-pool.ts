// The connection pools of one cluster, keyed by endpoint address:port so that a config reload
// that keeps an endpoint keeps its warm connections; also the cluster's connection circuit
// breaker (Envoy max_connections).
import { EndpointPool } from './endpoint-pool.js';
import type { UpstreamCodec } from './upstream-codec.js';
import type { ClusterStats } from '../stats/stats.js';
import type { Limits } from '../proxy/limits.js';

export class ClusterPool {
  readonly name: string;
  readonly stats: ClusterStats;
  readonly limits: Limits;
  readonly codec: UpstreamCodec;
  readonly #endpoints = new Map<string, EndpointPool>();
  #connections = 0;

  constructor(name: string, stats: ClusterStats, limits: Limits, codec: UpstreamCodec) {
    this.name = name;
    this.stats = stats;
    this.limits = limits;
    this.codec = codec;
  }

  /** Connections open or opening, across the cluster's endpoints. */
  get connectionCount(): number {
    return this.#connections;
  }

  /** The pool for `address:port`, created on first use and kept across reloads. */
  endpoint(address: string, port: number): EndpointPool {
    const key = `${address}:${port}`;
    let ep = this.#endpoints.get(key);
    if (!ep) this.#endpoints.set(key, (ep = new EndpointPool(this, address, port)));
    return ep;
  }

  /** After a reload: closes the pools of endpoints no longer in the cluster. */
  retainOnly(keys: ReadonlySet<string>): void {
    for (const [key, ep] of this.#endpoints) {
      if (!keys.has(key)) {
        ep.close();
        this.#endpoints.delete(key);
      }
    }
  }

  endpoints(): IterableIterator<EndpointPool> {
    return this.#endpoints.values();
  }

  /** Takes one connection slot from the circuit breaker, evicting an idle connection elsewhere if full. */
  reserveConnection(from: EndpointPool): boolean {
    if (this.#connections >= this.limits.maxConnectionsPerCluster) {
      let evicted = false;
      for (const ep of this.#endpoints.values()) {
        if (ep !== from && ep.evictIdle()) {
          evicted = true;
          break;
        }
      }
      if (!evicted) return false;
    }
    this.#connections++;
    return true;
  }

  releaseConnection(): void {
    this.#connections--;
  }

  close(): void {
    for (const ep of this.#endpoints.values()) ep.close();
  }

  destroyAll(): void {
    for (const ep of this.#endpoints.values()) ep.destroyAll();
  }
}
