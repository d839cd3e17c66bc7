// A dual-stack pod's listeners: the one bound on the pod's first wildcard (0.0.0.0) also binds the
// others (`::`) as Envoy `additional_addresses`, as istiod writes a dual-stack proxy's listeners.
// A listener already carrying additional addresses, or bound on any other address (a Gateway
// server's `bind`, a loopback), is left as it is.
type Json = Record<string, unknown>;

export function withOtherWildcards(listener: Json, wildcards: readonly string[]): Json {
  if (wildcards.length < 2 || listener.additional_addresses !== undefined) return listener;
  const at = (listener.address as { socket_address?: { address?: string; port_value?: number } } | undefined)?.socket_address;
  if (at === undefined || at.address !== wildcards[0] || at.port_value === undefined) return listener;
  const port = at.port_value;
  return { ...listener, additional_addresses: wildcards.slice(1).map((a) => ({ address: { socket_address: { address: a, port_value: port } } })) };
}
