// The proxy's counters and gauges, declared once as data per scope (Envoy style) and rendered
// as Envoy's `/stats` text, so that names match what Envoy operators already know. Each stat
// also knows its kind and whether it was ever changed (Envoy's `used`, for `/stats?usedonly`),
// and its scope's tag (the cluster name), for the Prometheus format's labels.

export type StatKind = 'counter' | 'gauge';

/** One stat as the admin API reads it. */
export interface StatRecord {
  /** Envoy's flat name: `cluster.<cluster>.upstream_rq_total`. */
  name: string;
  value: number;
  kind: StatKind;
  /** Changed at least once: a counter incremented, a gauge moved or set (Envoy's `usedonly`). */
  used: boolean;
  /** The name without its tag values (Envoy's tag-extracted name): `cluster.upstream_rq_total`. */
  tagName: string;
  /** Tag name → value, in the order Envoy extracts them: `[['envoy.cluster_name', '<cluster>']]`. */
  tags: Array<[string, string]>;
}

/** A scope's own tag: its prefix is `<base><value>.`, its tag-extracted prefix `<base>`. */
export interface ScopeTag {
  base: string;
  name: string;
  value: string;
}

/** Listener-wide stats (Envoy: http.<prefix>.*; wasmesh has one HTTP connection manager). */
export const DOWNSTREAM_STATS = {
  downstream_rq_total: 'counter',
  downstream_rq_1xx: 'counter',
  downstream_rq_2xx: 'counter',
  downstream_rq_3xx: 'counter',
  downstream_rq_4xx: 'counter',
  downstream_rq_5xx: 'counter',
  downstream_rq_active: 'gauge',
  /** WebSocket upgrades carried (a 101 written, the connection a tunnel) and those open now. */
  downstream_cx_upgrades_total: 'counter',
  downstream_cx_upgrades_active: 'gauge',
  /** Requests the client abandoned before the response completed (flag DC). */
  downstream_rq_rx_reset: 'counter',
  /** Requests refused for a head over the limits (431). */
  downstream_rq_header_overflow: 'counter',
  /** Requests refused for a path that cannot be normalized (meshConfig pathNormalization; 400). */
  downstream_rq_failed_path_normalization: 'counter',
  /** Requests that matched no route (flag NR). */
  no_route: 'counter',
  /** Fault injection (Envoy's fault filter stats). */
  'fault.delays_injected': 'counter',
  'fault.aborts_injected': 'counter',
  /** Requests answered by a route's redirect or direct response, and CORS preflights answered. */
  rq_redirect: 'counter',
  rq_direct_response: 'counter',
  rq_cors_preflight: 'counter',
  /** RequestAuthentication (Envoy's jwt_authn stats): requests let through, refused (401/403), preflights not checked; verified-token cache. */
  'jwt_authn.allowed': 'counter',
  'jwt_authn.denied': 'counter',
  'jwt_authn.cors_preflight_bypassed': 'counter',
  'jwt_authn.jwt_cache_hit': 'counter',
  'jwt_authn.jwt_cache_miss': 'counter',
  /** Local rate limits (Envoy's local_ratelimit stats): requests checked, refused, limited, allowed. */
  'http_local_rate_limit.enabled': 'counter',
  'http_local_rate_limit.enforced': 'counter',
  'http_local_rate_limit.rate_limited': 'counter',
  'http_local_rate_limit.ok': 'counter',
  /** Global rate limits (Envoy's ratelimit filter stats): the service's answers, its failures, failures let through. */
  'ratelimit.ok': 'counter',
  'ratelimit.over_limit': 'counter',
  'ratelimit.error': 'counter',
  'ratelimit.failure_mode_allowed': 'counter',
  /** Tracing (Envoy's connection manager names): why a request was or was not traced. */
  'tracing.random_sampling': 'counter',
  'tracing.client_enabled': 'counter',
  'tracing.not_traceable': 'counter',
  /** Span exporters (Envoy's tracing.zipkin.* / tracing.opentelemetry.*), plus spans_dropped: spans lost to a full queue or a failed report. */
  'tracing.zipkin.spans_sent': 'counter',
  'tracing.zipkin.reports_sent': 'counter',
  'tracing.zipkin.reports_dropped': 'counter',
  'tracing.zipkin.reports_failed': 'counter',
  'tracing.zipkin.timer_flushed': 'counter',
  'tracing.zipkin.spans_dropped': 'counter',
  'tracing.opentelemetry.spans_sent': 'counter',
  'tracing.opentelemetry.reports_sent': 'counter',
  'tracing.opentelemetry.reports_dropped': 'counter',
  'tracing.opentelemetry.reports_failed': 'counter',
  'tracing.opentelemetry.timer_flushed': 'counter',
  'tracing.opentelemetry.spans_dropped': 'counter',
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
  /** HTTP/2 downstream connections (h2c prior knowledge or ALPN h2) and their streams (Envoy's names). */
  downstream_cx_http2_total: 'counter',
  downstream_rq_http2_total: 'counter',
  /** HTTP/2 connections sent GOAWAY to drain them (listener closing; Envoy's downstream_cx_drain_close). */
  downstream_cx_drain_close: 'counter',
  /** HTTP/2 connections closed for rapid reset: half of 500+ streams reset by the client within 1 s (Envoy's name). */
  downstream_rq_too_many_premature_resets: 'counter',
  /** Connections closed before a first byte arrived to tell TLS from plaintext (PERMISSIVE). */
  downstream_pre_cx_timeout: 'counter',
  /** A gateway TLS connection whose SNI names no server of the port (Envoy's listener stat). */
  no_filter_chain_match: 'counter',
  /** TLS handshakes completed, and of those resumed from a session (Envoy's ssl.*). */
  'ssl.handshake': 'counter',
  'ssl.session_reused': 'counter',
  /** TLS handshakes failed, by reason (host/tls/handshake-failure.ts). */
  'ssl.connection_error': 'counter',
  'ssl.fail_verify_no_cert': 'counter',
  'ssl.fail_verify_error': 'counter',
  'ssl.fail_verify_san': 'counter',
  /** Handshakes refused because the workload certificate was not in hand (mesh mTLS fails closed). */
  'ssl.workload_certificate_unavailable': 'counter',
  /** AuthorizationPolicy (Envoy's RBAC filter): enforced ALLOW/DENY outcomes, dry-run (shadow) outcomes, AUDIT matches. */
  'rbac.allowed': 'counter',
  'rbac.denied': 'counter',
  'rbac.shadow_allowed': 'counter',
  'rbac.shadow_denied': 'counter',
  'rbac.logged': 'counter',
  'rbac.not_logged': 'counter',
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
  /** TLS handshakes completed, and of those resumed from a session (Envoy's ssl.*). */
  'ssl.handshake': 'counter',
  'ssl.session_reused': 'counter',
  /** TLS handshakes failed, by reason (host/tls/handshake-failure.ts). */
  'ssl.connection_error': 'counter',
  'ssl.fail_verify_no_cert': 'counter',
  'ssl.fail_verify_error': 'counter',
  'ssl.fail_verify_san': 'counter',
  /** Handshakes refused because the workload certificate was not in hand (mesh mTLS fails closed). */
  'ssl.workload_certificate_unavailable': 'counter',
} as const satisfies Record<string, StatKind>;

/** Envoy's tcp_proxy stats, rendered as `tcp.<stat_prefix>.<stat>` (host/listener/tcp/). */
export const TCP_PROXY_STATS = {
  downstream_cx_total: 'counter',
  downstream_cx_no_route: 'counter',
  downstream_cx_rx_bytes_total: 'counter',
  downstream_cx_tx_bytes_total: 'counter',
  downstream_flow_control_paused_reading_total: 'counter',
  downstream_flow_control_resumed_reading_total: 'counter',
  idle_timeout: 'counter',
  upstream_flush_total: 'counter',
  upstream_flush_active: 'gauge',
} as const satisfies Record<string, StatKind>;
export type TcpProxyStats = StatScope<keyof typeof TCP_PROXY_STATS>;

/** Envoy's tls_inspector listener filter stats, rendered as `tls_inspector.<stat>` (host/listener/tcp/tls-inspector.ts). */
export const TLS_INSPECTOR_STATS = {
  client_hello_too_large: 'counter',
  tls_found: 'counter',
  tls_not_found: 'counter',
  alpn_found: 'counter',
  alpn_not_found: 'counter',
  sni_found: 'counter',
  sni_not_found: 'counter',
} as const satisfies Record<string, StatKind>;
export type TlsInspectorStats = StatScope<keyof typeof TLS_INSPECTOR_STATS>;

/**
 * Envoy's RBAC network filter stats under Istio's stat_prefix for it (`tcp.`): rendered as
 * `tcp.rbac.<stat>` (host/listener/tcp/rbac-network-filter.ts).
 */
export const RBAC_NETWORK_STATS = {
  allowed: 'counter',
  denied: 'counter',
  shadow_allowed: 'counter',
  shadow_denied: 'counter',
  logged: 'counter',
  not_logged: 'counter',
} as const satisfies Record<string, StatKind>;
export type RbacNetworkStats = StatScope<keyof typeof RBAC_NETWORK_STATS>;

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

interface AttachedSource {
  read: StatSource;
  kindOf: (name: string) => StatKind;
}

/**
 * One scope's counters; dynamic names (response codes, flags) are created on first use.
 * Sources attached under a key add their values (a name in both is summed: each counts its
 * own events); attaching again under the same key replaces the source.
 *
 * `used` without a cost per increment: counters only grow, by at least one, so a counter is
 * used exactly when it is not zero; a gauge is used when it is not zero or was ever moved down
 * or set (an increment leaves it nonzero until the decrement that marks it). Only dec, set and
 * a negative dynamic increment touch the `moved` set, never the counters' path.
 */
export class StatScope<K extends string> {
  readonly #prefix: string;
  readonly #tag: ScopeTag | null;
  readonly #values = new Map<string, number>();
  readonly #gauges = new Set<string>();
  /** Gauges moved down or set at least once (see above). */
  readonly #moved = new Set<string>();
  readonly #sources = new Map<string, AttachedSource>();
  /** Source stats seen nonzero at some reading: a source tells values, not changes. */
  readonly #sourceUsed = new Set<string>();

  constructor(prefix: string, declared: Record<K, StatKind>, tag: ScopeTag | null = null) {
    this.#prefix = prefix;
    this.#tag = tag;
    // Declared stats exist from the start, so that /stats shows zeros rather than nothing.
    for (const [name, kind] of Object.entries(declared) as Array<[string, StatKind]>) {
      this.#values.set(name, 0);
      if (kind === 'gauge') this.#gauges.add(name);
    }
  }

  inc(name: K, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by);
  }

  dec(name: K, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) - by);
    this.#moved.add(name);
  }

  set(name: K, value: number): void {
    this.#values.set(name, value);
    this.#moved.add(name);
  }

  /** A stat known only at run time, shown (at zero) from now on: a counter unless said otherwise. */
  declare(name: string, kind: StatKind): void {
    if (!this.#values.has(name)) this.#values.set(name, 0);
    if (kind === 'gauge') this.#gauges.add(name);
  }

  get(name: K | string): number {
    let v = this.#values.get(name) ?? 0;
    for (const src of this.#sources.values()) v += src.read()[name] ?? 0;
    return v;
  }

  /**
   * Attaches (or, with an existing key, replaces) a source of stats for this scope; `kindOf`
   * tells its gauges from its counters.
   */
  attach(key: string, source: StatSource, kindOf: (name: string) => StatKind = () => 'counter'): void {
    this.#sources.set(key, { read: source, kindOf });
  }

  detach(key: string): void {
    this.#sources.delete(key);
  }

  /**
   * A stat whose name is only known at run time (e.g. `upstream_rq_503`); a counter unless
   * declared a gauge first (declare).
   */
  incDynamic(name: string, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by);
    if (by < 0) this.#moved.add(name);
  }

  entries(out: Array<[string, number]>): void {
    if (this.#sources.size === 0) {
      for (const [name, value] of this.#values) out.push([this.#prefix + name, value]);
      return;
    }
    const all = new Map(this.#values);
    for (const src of this.#sources.values()) {
      for (const [name, value] of Object.entries(src.read())) all.set(name, (all.get(name) ?? 0) + value);
    }
    for (const [name, value] of all) out.push([this.#prefix + name, value]);
  }

  /** Every stat of the scope with its kind, used flag and tags. */
  records(out: StatRecord[]): void {
    const seen = new Map<string, StatRecord>();
    const base = this.#tag ? this.#tag.base : this.#prefix;
    const tags: Array<[string, string]> = this.#tag ? [[this.#tag.name, this.#tag.value]] : [];
    const record = (name: string, value: number, kind: StatKind, used: boolean): StatRecord => {
      const r: StatRecord = { name: this.#prefix + name, value, kind, used, tagName: base + name, tags: tags.map((t) => [t[0], t[1]]) };
      seen.set(name, r);
      out.push(r);
      return r;
    };
    for (const [name, value] of this.#values) {
      const gauge = this.#gauges.has(name);
      record(name, value, gauge ? 'gauge' : 'counter', value !== 0 || (gauge && this.#moved.has(name)));
    }
    for (const src of this.#sources.values()) {
      for (const [name, value] of Object.entries(src.read())) {
        if (value !== 0) this.#sourceUsed.add(name);
        const used = this.#sourceUsed.has(name);
        const have = seen.get(name);
        if (have) {
          have.value += value;
          have.used ||= used;
        } else {
          record(name, value, src.kindOf(name), used);
        }
      }
    }
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
  readonly #tcp = new Map<string, TcpProxyStats>();
  /** Created on first use: only a listener with a tls_inspector has these. */
  #tlsInspector: TlsInspectorStats | null = null;

  get tlsInspector(): TlsInspectorStats {
    return (this.#tlsInspector ??= new StatScope('tls_inspector.', TLS_INSPECTOR_STATS));
  }

  /** Created on first use: only a TCP listener that enforces AuthorizationPolicy has these. */
  #rbacNetwork: RbacNetworkStats | null = null;

  get rbacNetwork(): RbacNetworkStats {
    return (this.#rbacNetwork ??= new StatScope('tcp.rbac.', RBAC_NETWORK_STATS));
  }

  cluster(name: string): ClusterStats {
    let s = this.#clusters.get(name);
    // Envoy's default tag for `cluster.<name>.`; its regex stops at the first dot, our names
    // (`outbound|5005|v1|web.default.svc.cluster.local`) have dots, and the scope knows where the name ends.
    if (!s) this.#clusters.set(name, (s = new StatScope('cluster.' + name + '.', CLUSTER_STATS, { base: 'cluster.', name: 'envoy.cluster_name', value: name })));
    return s;
  }

  /** A tcp_proxy filter's stats under its stat_prefix (Envoy's tag `envoy.tcp_prefix`). */
  tcp(prefix: string): TcpProxyStats {
    let s = this.#tcp.get(prefix);
    if (!s) this.#tcp.set(prefix, (s = new StatScope('tcp.' + prefix + '.', TCP_PROXY_STATS, { base: 'tcp.', name: 'envoy.tcp_prefix', value: prefix })));
    return s;
  }

  route(name: string): StatScope<keyof typeof ROUTE_STATS> {
    let s = this.#routes.get(name);
    // Route stats are wasmesh's own (Envoy counts per virtual cluster): so is their tag.
    if (!s) this.#routes.set(name, (s = new StatScope('route.' + name + '.', ROUTE_STATS, { base: 'route.', name: 'wasmesh.route_name', value: name })));
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
    for (const s of this.#tcp.values()) s.entries(out);
    this.#tlsInspector?.entries(out);
    this.#rbacNetwork?.entries(out);
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out;
  }

  /** All stats with kinds, used flags and tags, sorted by name. */
  records(): StatRecord[] {
    const out: StatRecord[] = [];
    this.downstream.records(out);
    this.server.records(out);
    this.#flags.records(out);
    for (const s of this.#clusters.values()) s.records(out);
    for (const s of this.#routes.values()) s.records(out);
    for (const s of this.#tcp.values()) s.records(out);
    this.#tlsInspector?.records(out);
    this.#rbacNetwork?.records(out);
    return sortRecords(out);
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

/** Sorted by name, as /stats lists them. */
export function sortRecords(records: StatRecord[]): StatRecord[] {
  return records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Stats computed from state when read (the control shell's), untagged: each is used when not
 * zero, since there is no history to tell a value set back to zero from one never set.
 */
export function computedRecords(values: Record<string, number>, kinds: Record<string, StatKind>): StatRecord[] {
  return Object.entries(values).map(([name, value]) => ({ name, value, kind: kinds[name] ?? 'counter', used: value !== 0, tagName: name, tags: [] }));
}

