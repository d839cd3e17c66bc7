// The DNS names of ServiceEntry resolution DNS / DNS_ROUND_ROBIN clusters, resolved by the proxy
// and kept fresh as Envoy does for the STRICT_DNS / LOGICAL_DNS clusters Istio generates
// (respect_dns_ttl, dns_lookup_family V4_ONLY, meshConfig dnsRefreshRate 60 s; the same settings
// host/envoy/bootstrap.ts writes for stock Envoy): each name's A records are looked up again when
// their TTL runs out (never sooner than Envoy's dns_min_refresh_rate, 5 s; after the refresh rate
// when the answer has no TTL). A failed lookup keeps the last addresses (Envoy keeps its hosts)
// and is retried with exponential backoff, from 1 s up to the refresh rate. A change of a name's
// address set is reported once per turn of the event loop, so the owner rebuilds its endpoints
// without any config reload (host/server/proxy-server.ts).

/** What is asked (node:dns/promises Resolver fits; tests give a resolver of a local DNS server). */
export interface DnsResolver {
  resolve4(hostname: string, options: { ttl: true }): Promise<Array<{ address: string; ttl: number }>>;
  /** Ends the lookups in flight (node:dns Resolver.cancel), so that nothing outlives close(). */
  cancel?(): void;
}

export interface DnsTiming {
  /** Envoy's dns_min_refresh_rate: a shorter TTL is raised to it. */
  readonly minRefreshMs: number;
  /** The refresh rate when the answer has no TTL (0): Istio's meshConfig dnsRefreshRate. */
  readonly refreshMs: number;
  /** The first retry after a failed lookup; each further failure doubles it, up to refreshMs. */
  readonly failureBaseMs: number;
}

export const DNS_TIMING: DnsTiming = { minRefreshMs: 5_000, refreshMs: 60_000, failureBaseMs: 1_000 };

interface Entry {
  /** The last good answer (IPv4 addresses, in the order the server gave); null before one. */
  addresses: readonly string[] | null;
  failures: number;
  timer: NodeJS.Timeout | null;
  /** Bumped when the name is dropped, so a lookup in flight for it is ignored. */
  generation: number;
}

export class DnsRefresher {
  readonly #resolver: DnsResolver;
  readonly #timing: DnsTiming;
  readonly #onChange: () => void;
  readonly #entries = new Map<string, Entry>();
  #changePending = false;
  #closed = false;
  #generation = 0;

  constructor(resolver: DnsResolver, onChange: () => void, timing: DnsTiming = DNS_TIMING) {
    this.#resolver = resolver;
    this.#onChange = onChange;
    this.#timing = timing;
  }

  /** Resolves the names of `names` not watched yet (now), and stops watching the others. */
  watch(names: ReadonlySet<string>): void {
    if (this.#closed) return;
    for (const [name, e] of this.#entries) {
      if (names.has(name)) continue;
      if (e.timer !== null) clearTimeout(e.timer);
      e.generation = -1;
      this.#entries.delete(name);
    }
    for (const name of names) {
      if (this.#entries.has(name)) continue;
      const e: Entry = { addresses: null, failures: 0, timer: null, generation: ++this.#generation };
      this.#entries.set(name, e);
      this.#lookup(name, e);
    }
  }

  /** The last good addresses of `name`, or null when it has none yet (or is not watched). */
  addresses(name: string): readonly string[] | null {
    return this.#entries.get(name)?.addresses ?? null;
  }

  /** The names being watched. */
  get names(): string[] {
    return [...this.#entries.keys()];
  }

  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) {
      if (e.timer !== null) clearTimeout(e.timer);
      e.generation = -1;
    }
    this.#entries.clear();
    this.#resolver.cancel?.();
  }

  #lookup(name: string, e: Entry): void {
    const generation = e.generation;
    const current = (): boolean => !this.#closed && e.generation === generation && this.#entries.get(name) === e;
    this.#resolver.resolve4(name, { ttl: true }).then(
      (records) => {
        if (!current()) return;
        if (records.length === 0) return this.#failed(name, e);
        e.failures = 0;
        const addresses = records.map((r) => r.address);
        const changed = e.addresses === null || !sameSet(e.addresses, addresses);
        e.addresses = addresses;
        const ttlMs = Math.min(...records.map((r) => r.ttl)) * 1000;
        this.#schedule(name, e, ttlMs > 0 ? Math.max(this.#timing.minRefreshMs, ttlMs) : this.#timing.refreshMs);
        if (changed) this.#changed();
      },
      () => {
        if (current()) this.#failed(name, e);
      },
    );
  }

  #failed(name: string, e: Entry): void {
    e.failures++;
    const t = this.#timing;
    this.#schedule(name, e, Math.min(t.refreshMs, t.failureBaseMs * 2 ** Math.min(e.failures - 1, 30)));
  }

  #schedule(name: string, e: Entry, ms: number): void {
    if (e.timer !== null) clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = null;
      this.#lookup(name, e);
    }, ms);
    // The refresh keeps nothing alive: the proxy's listener does.
    e.timer.unref();
  }

  #changed(): void {
    if (this.#changePending) return;
    this.#changePending = true;
    setImmediate(() => {
      this.#changePending = false;
      if (!this.#closed) this.#onChange();
    });
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
