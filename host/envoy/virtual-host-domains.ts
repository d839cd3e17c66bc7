// wasmesh authority patterns to Envoy virtual-host domains. wasmesh's rule: a pattern without
// a port matches the authority with or without one; a pattern with a port matches only that
// port. Envoy matches the whole Host value instead, and rejects a domain repeated across
// virtual hosts, so patterns are expanded and deduplicated here.

export interface EnvoyDomains {
  /** Domains per virtual host, in input order; an empty list means the host is dropped. */
  perHost: string[][];
  /**
   * True when no pattern names a port: then Envoy's route-table option
   * ignore_port_in_host_matching gives wasmesh's rule exactly, patterns unchanged.
   */
  ignorePortInHostMatching: boolean;
}

/** Splits `host:port` (and `[v6]:port`); port null when the pattern has none. */
export function splitPort(pattern: string): { host: string; port: string | null } {
  // Most domains name no port (checked per domain of every virtual host, on every push).
  if (!pattern.includes(':')) return { host: pattern, port: null };
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(pattern);
  return m ? { host: m[1], port: m[2] } : { host: pattern, port: null };
}

export function envoyDomains(hosts: ReadonlyArray<{ name: string; domains: readonly string[] }>, warnings: string[]): EnvoyDomains {
  const anyPort = hosts.some((h) => h.domains.some((d) => splitPort(d).port !== null));
  const owner = new Map<string, string>();
  const perHost = hosts.map((vh) => {
    const out: string[] = [];
    for (const raw of vh.domains) {
      const pattern = raw.toLowerCase();
      const { port } = splitPort(pattern);
      let expanded: string[];
      if (!anyPort || port !== null || pattern === '*') {
        expanded = [pattern];
      } else if (pattern.startsWith('*')) {
        // Envoy allows one '*' per domain, so `*.suffix:*` cannot be written, and without
        // ignore_port_in_host_matching (impossible here: another pattern needs its port)
        // `*.suffix` matches only authorities that carry no port.
        warnings.push(`virtual host ${vh.name}: domain "${pattern}" matches only authorities without a port in Envoy (another virtual host names a port, so ports cannot be ignored)`);
        expanded = [pattern];
      } else {
        // `host:*` is an Envoy prefix wildcard: it ranks after suffix wildcards, where wasmesh
        // ranks every exact host first. Only a `*.suffix:port` pattern can tell the difference.
        expanded = [pattern, `${pattern}:*`];
      }
      for (const d of expanded) {
        const first = owner.get(d);
        if (first === undefined) {
          owner.set(d, vh.name);
          out.push(d);
        } else if (first !== vh.name) {
          warnings.push(`virtual host ${vh.name}: domain "${d}" already belongs to virtual host ${first}, which wins (Envoy rejects duplicate domains)`);
        }
      }
    }
    if (out.length === 0) warnings.push(`virtual host ${vh.name}: no domain left after deduplication; dropped from the Envoy route table`);
    return out;
  });
  return { perHost, ignorePortInHostMatching: !anyPort };
}
