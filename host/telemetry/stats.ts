// The proxy's counters and gauges, declared once as data per scope (Envoy style) and rendered
// as Envoy's `/stats` text, so that names match what Envoy operators already know.

export type StatKind = 'counter' | 'gauge';

/** Listener-wide stats (Envoy: http.<prefix>.*; wasmesh has one HTTP connection manager). */
export const DOWNSTREAM_STATS = {
  downstream_rq_total: 'counter',
  downstream_rq_1xx: 'counter',
  downstream_rq_2xx: 'counter',
  downstream_rq_3xx: 'counter',
  downstream_rq_4xx: 'counter',
  downstream_rq_5xx: 'counter',
  downstream_rq_active: 'gauge',
  /** Requests the client abandoned before the response completed (flag DC). */
  downstream_rq_rx_reset: 'counter',
  /** Requests refused for a head over the limits (431). */
  downstream_rq_header_overflow: 'counter',
  /** Requests that matched no route (flag NR). */
  no_route: 'counter',
  /** Fault injection (Envoy's fault filter stats). */
  'fault.delays_injected': 'counter',
  'fault.aborts_injected': 'counter',
  /** Requests answered by a route's redirect or direct response, and CORS preflights answered. */
  rq_redirect: 'counter',
  rq_direct_response: 'counter',
  rq_cors_preflight: 'counter',
  /** Downstream connections (the core-parsed HTTP/1.1 listener's; Envoy's listener and HCM names). */
  downstream_cx_total: 'counter',
  downstream_cx_active: 'gauge',
  /** Connections refused at the listener's connection limit. */
  downstream_cx_overflow: 'counter',
  /** Connections closed for the idle timeout (no request for 1 h by default). */
  downstream_cx_idle_timeout: 'counter',
  /** Requests refused as malformed (400 and kin); the connection is closed. */
  downstream_cx_protocol_error: 'counter',
  /** Requests ended by the stream idle timeout (nothing moved for 5 min by default; flag SI). */
  downstream_rq_idle_timeout: 'counter',
  /** Heads not complete within the request headers timeout (408). */
  downstream_rq_header_timeout: 'counter',
  /** Header fields with an underscore dropped, or requests refused for one (headersWithUnderscoresAction). */
  'http1.dropped_headers_with_underscores': 'counter',
  'http1.requests_rejected_with_underscores_in_headers': 'counter',
} as const satisfies Record<string, StatKind>;

/** Per-cluster stats, rendered as `cluster.<name>.<stat>`. */
export const CLUSTER_STATS = {
  upstream_rq_total: 'counter',
  upstream_rq_completed: 'counter',
  upstream_rq_active: 'gauge',
  upstream_rq_1xx: 'counter',
  upstream_rq_2xx: 'counter',
  upstream_rq_3xx: 'counter',
  upstream_rq_4xx: 'counter',
  upstream_rq_5xx: 'counter',
  upstream_rq_timeout: 'counter',
  upstream_rq_pending_overflow: 'counter',
  /** Requests retried once on a fresh connection after a stale keep-alive connection closed. */
  upstream_rq_retry_stale: 'counter',
  upstream_rq_cancelled: 'counter',
  /** Attempts ended by the retry policy's per-try timeout (Envoy's name). */
  upstream_rq_per_try_timeout: 'counter',
  /** Mirrored copies sent to this cluster, failed (connect, reset, timeout), and skipped (body beyond the buffer, no endpoint, overflow). */
  upstream_rq_mirror: 'counter',
  upstream_rq_mirror_failed: 'counter',
  upstream_rq_mirror_skipped: 'counter',
  upstream_cx_total: 'counter',
  upstream_cx_active: 'gauge',
  upstream_cx_connect_fail: 'counter',
  upstream_cx_connect_timeout: 'counter',
  upstream_cx_overflow: 'counter',
  upstream_cx_none_healthy: 'counter',
  upstream_cx_destroy_remote: 'counter',
  upstream_cx_destroy_local: 'counter',
  upstream_cx_idle_timeout: 'counter',
  upstream_cx_protocol_error: 'counter',
  upstream_cx_rx_bytes_total: 'counter',
  upstream_cx_tx_bytes_total: 'counter',
} as const satisfies Record<string, StatKind>;

/** Per-route stats, rendered as `route.<name>.<stat>` (plus dynamic `rq_<code>`). */
export const ROUTE_STATS = {
  rq_total: 'counter',
} as const satisfies Record<string, StatKind>;

/** Control-shell stats, rendered as `server.<stat>`. */
export const SERVER_STATS = {
  config_reload: 'counter',
  config_reload_fail: 'counter',
  config_version: 'gauge',
} as const satisfies Record<string, StatKind>;

export type DownstreamStat = keyof typeof DOWNSTREAM_STATS;

/** `downstream_rq_<n>xx` by status class (index n), so a finished request builds no string. */
const CLASS_STATS: ReadonlyArray<DownstreamStat | undefined> = [
  undefined, 'downstream_rq_1xx', 'downstream_rq_2xx', 'downstream_rq_3xx', 'downstream_rq_4xx', 'downstream_rq_5xx',
];
export type ClusterStat = keyof typeof CLUSTER_STATS;
export type ServerStat = keyof typeof SERVER_STATS;

/** Stats kept elsewhere (e.g. counters in the core's cluster state), read when rendered. */
export type StatSource = () => Record<string, number>;

/**
 * One scope's counters; dynamic names (response codes, flags) are created on first use.
 * Sources attached under a key add their values (a name in both is summed: each counts its
 * own events); attaching again under the same key replaces the source.
 */
export class StatScope<K extends string> {
  readonly #prefix: string;
  readonly #values = new Map<string, number>();
  readonly #sources = new Map<string, StatSource>();

  constructor(prefix: string, declared: Record<K, StatKind>) {
    this.#prefix = prefix;
    // Declared stats exist from the start, so that /stats shows zeros rather than nothing.
    for (const name of Object.keys(declared)) this.#values.set(name, 0);
  }

  inc(name: K, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by);
  }

  dec(name: K, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) - by);
  }

  set(name: K, value: number): void {
    this.#values.set(name, value);
  }

  get(name: K | string): number {
    let v = this.#values.get(name) ?? 0;
    for (const src of this.#sources.values()) v += src()[name] ?? 0;
    return v;
  }

  /** Attaches (or, with an existing key, replaces) a source of stats for this scope. */
  attach(key: string, source: StatSource): void {
    this.#sources.set(key, source);
  }

  detach(key: string): void {
    this.#sources.delete(key);
  }

  /** A stat whose name is only known at run time (e.g. `upstream_rq_503`). */
  incDynamic(name: string, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by);
  }

  entries(out: Array<[string, number]>): void {
    if (this.#sources.size === 0) {
      for (const [name, value] of this.#values) out.push([this.#prefix + name, value]);
      return;
    }
    const all = new Map(this.#values);
    for (const src of this.#sources.values()) {
      for (const [name, value] of Object.entries(src())) all.set(name, (all.get(name) ?? 0) + value);
    }
    for (const [name, value] of all) out.push([this.#prefix + name, value]);
  }
}

export type ClusterStats = StatScope<ClusterStat>;

/** All stats of one proxy. Scopes for clusters and routes outlive config versions. */
export class Stats {
  readonly downstream = new StatScope<DownstreamStat>('', DOWNSTREAM_STATS);
  readonly server = new StatScope<ServerStat>('server.', SERVER_STATS);
  readonly #clusters = new Map<string, ClusterStats>();
  readonly #routes = new Map<string, StatScope<keyof typeof ROUTE_STATS>>();
  readonly #flags = new StatScope<string>('response_flag.', {});

  cluster(name: string): ClusterStats {
    let s = this.#clusters.get(name);
    if (!s) this.#clusters.set(name, (s = new StatScope('cluster.' + name + '.', CLUSTER_STATS)));
    return s;
  }

  route(name: string): StatScope<keyof typeof ROUTE_STATS> {
    let s = this.#routes.get(name);
    if (!s) this.#routes.set(name, (s = new StatScope('route.' + name + '.', ROUTE_STATS)));
    return s;
  }

  /** Counts a finished downstream request by status code class and response flags. */
  downstreamDone(code: number, flags: readonly string[]): void {
    if (code >= 100 && code < 600) this.downstream.inc(CLASS_STATS[Math.floor(code / 100)]!);
    for (const f of flags) this.#flags.incDynamic(f);
  }

  flag(flag: string): number {
    return this.#flags.get(flag);
  }

  /** For the control shell (hot reload): counts one reload attempt. */
  recordReload(ok: boolean, version?: number): void {
    if (ok) {
      this.server.inc('config_reload');
      if (version !== undefined) this.server.set('config_version', version);
    } else {
      this.server.inc('config_reload_fail');
    }
  }

  /** All stats, sorted by name. */
  list(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    this.downstream.entries(out);
    this.server.entries(out);
    this.#flags.entries(out);
    for (const s of this.#clusters.values()) s.entries(out);
    for (const s of this.#routes.values()) s.entries(out);
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out;
  }

  /** Envoy's `/stats` text: one `name: value` line per stat. */
  render(): string {
    let s = '';
    for (const [name, value] of this.list()) s += `${name}: ${value}\n`;
    return s;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.list());
  }
}
