// Envoy's /listeners: each listener's name and the address it is bound to, as text
// (`name::address:port`, one a line) or as admin.v3.Listeners JSON (`listener_statuses`).

export interface ListenerStatus {
  /** The name the listener has in /config_dump (Envoy's translation names it). */
  readonly name: string;
  readonly host: string;
  /** The bound port (the OS's pick after listening on port 0). */
  readonly port: number;
}

export function listenersText(list: readonly ListenerStatus[]): string {
  return list.map((l) => `${l.name}::${l.host}:${l.port}\n`).join('');
}

export function listenersJson(list: readonly ListenerStatus[]): unknown {
  return { listener_statuses: list.map((l) => ({ name: l.name, local_address: { socket_address: { address: l.host, port_value: l.port } } })) };
}
