// Istio's TCP metadata exchange on one connection (the istio.metadata_exchange network filter's
// part, host/telemetry/tcp-metadata-exchange.ts for the bytes): this side's exchange is written
// at once, and the peer's is read off the head of the stream before anything else reads it —
// application bytes that came with it are put back (unshift) for the byte proxy. Istio's filter
// writes its own on the first byte either way; writing it at once is what lets a server-first
// protocol start (an Istio client writes its own when it reads ours) and reads the same.
// A peer that sends a wrong magic, no Any of a Struct, more than the limit, or nothing within
// the timeout is refused (the caller closes the connection and counts it): Istio's filter would
// pass such bytes on as application data, which the application behind an exchange-speaking
// peer never sent.
import type { Socket } from 'node:net';
import { ExchangeReader, type ExchangeError, type ExchangedPeer } from '../../telemetry/tcp-metadata-exchange.js';

/** Envoy's listener_filters_timeout (15 s) bounds the wait, as for the other reads before a route (Istio's filter has none). */
export const METADATA_EXCHANGE_TIMEOUT_MS = 15_000;

export interface MetadataExchangeOptions {
  /** The largest peer metadata taken, in bytes (limits.maxPeerMetadataBytes). */
  readonly maxBytes: number;
  /** How long the peer's exchange may take (0: no limit); default 15 s. */
  readonly timeoutMs?: number;
}

export type MetadataExchangeOutcome =
  | { readonly kind: 'done'; readonly peer: ExchangedPeer }
  | { readonly kind: 'error'; readonly error: ExchangeError | 'timeout' | 'closed'; readonly detail: string };

/**
 * Writes `ours` to `socket` and reads the peer's exchange; calls `done` once, with the socket
 * paused and any bytes after the exchange put back, or with why it failed (the socket is then
 * left to the caller to destroy).
 */
export function exchangeMetadata(socket: Socket, ours: Buffer, opts: MetadataExchangeOptions, done: (outcome: MetadataExchangeOutcome) => void): void {
  const reader = new ExchangeReader(opts.maxBytes);
  let finished = false;
  const timeoutMs = opts.timeoutMs ?? METADATA_EXCHANGE_TIMEOUT_MS;
  const finish = (outcome: MetadataExchangeOutcome, rest?: Buffer): void => {
    if (finished) return;
    finished = true;
    if (timer !== null) clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    socket.pause();
    if (rest !== undefined && rest.length > 0) socket.unshift(rest);
    done(outcome);
  };
  const onData = (chunk: Buffer): void => {
    const r = reader.push(chunk);
    if (r.kind === 'done') finish({ kind: 'done', peer: r.peer }, r.rest);
    else if (r.kind === 'error') finish({ kind: 'error', error: r.error, detail: r.detail });
  };
  const onEnd = (): void => finish({ kind: 'error', error: 'closed', detail: 'the peer closed before its metadata exchange was whole' });
  const timer = timeoutMs > 0
    ? setTimeout(() => finish({ kind: 'error', error: 'timeout', detail: `no metadata exchange from the peer within ${timeoutMs} ms` }), timeoutMs)
    : null;
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  socket.write(ours);
  socket.resume();
}
