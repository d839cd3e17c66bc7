// The byte proxy's two transports (host/listener/tcp/tcp-handle-binding.ts), for running a TCP
// test file over both: `describe.each(TCP_TRANSPORTS)` and each TcpProxyServer given
// `tcpTransport: currentTcpTransport()`. The handle transport must be usable here (Node 20):
// a Node whose bindings fail the check fails these tests rather than skipping them.
import { beforeAll } from 'vitest';
import type { TcpTransportKind } from '../../host/listener/tcp/tcp-handle-binding.js';

export const TCP_TRANSPORTS: readonly TcpTransportKind[] = ['socket', 'handle'];

let current: TcpTransportKind | null = null;

/** In a describe.each(TCP_TRANSPORTS) block: makes `kind` the transport of the block's tests. */
export function useTcpTransport(kind: TcpTransportKind): void {
  beforeAll(() => {
    current = kind;
  });
}

/** The transport of the running test's block. */
export function currentTcpTransport(): TcpTransportKind {
  if (current === null) throw new Error('currentTcpTransport: call useTcpTransport in the describe.each(TCP_TRANSPORTS) block');
  return current;
}
