// `--tcp-transport <socket|handle>`: what the plaintext TCP byte proxy runs on — Node's raw TCP
// handles (`handle`: less CPU and memory per connection; an internal Node API, checked at start-up)
// or net.Socket (`socket`). Default: `handle` when Node's bindings pass the check, else `socket`
// (the reason logged). `handle` asked for on a Node whose bindings fail the check is an error.
import type { FlagSpec, FlagValues } from './args.js';
import { UsageError } from './args.js';
import { chooseTcpTransport, type TcpTransportChoice } from '../listener/tcp/tcp-handle-binding.js';

export const TCP_TRANSPORT_FLAG: FlagSpec = {
  name: 'tcp-transport', kind: 'string', valueName: '<socket|handle>', help: 'what the plaintext TCP proxy runs on: Node\'s raw TCP handles (handle) or net.Socket (socket); TLS stays on net.Socket', defaultText: 'handle when Node\'s internal TCP binding passes the start-up check, else socket',
};

/** The flag's choice, checked now (an unknown value, or `handle` refused, is a usage error). */
export function tcpTransportFromFlags(command: string, values: FlagValues): TcpTransportChoice {
  const v = values['tcp-transport'] as string | undefined;
  if (v !== undefined && v !== 'socket' && v !== 'handle') throw new UsageError(command, `--tcp-transport: expected socket or handle, got "${v}"`);
  try {
    return chooseTcpTransport(v);
  } catch (err) {
    throw new UsageError(command, (err as Error).message);
  }
}

/** How the start-up line names the choice. */
export function describeTcpTransport(c: TcpTransportChoice): string {
  return c.refused === null ? `tcp transport ${c.kind}` : `tcp transport ${c.kind} (handle refused: ${c.refused})`;
}
