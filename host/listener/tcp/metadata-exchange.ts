// Istio's TCP metadata exchange on one connection (the istio.metadata_exchange network filter's
// part, host/telemetry/tcp-metadata-exchange.ts for the bytes), without waiting for the peer: this
// side's exchange is written at once, and the peer's is taken off the first bytes the socket
// reads, whenever they come and however the reads split them, before any reader of the socket
// sees them (the byte proxy runs from the start; only the header bytes are held back). So a peer
// that writes its exchange only in front of its first application bytes — a proxy-wasm filter in
// stock Envoy (filters/stats/tcp-exchange.ts), which can put bytes on the wire only in front of
// data flowing anyway — is never waited for, whichever side speaks first.
//
// What the first bytes say settles the exchange once: the peer's exchange (its workload), none
// (the stream does not start with the magic: the peer sends no exchange, Istio's
// `initial_header_not_found`; the bytes are application data, the peer is named by its
// certificate; so is a stream that ends before its first byte), the stream's end within the
// exchange (`closed`: the socket is destroyed), or a refused exchange — the magic followed by
// no Any of a Struct, or a size over the limit — which destroys the socket: the peer agreed to the
// exchange, so what it sent is no application byte (Istio's filter would pass it on).
import type { Socket } from 'node:net';
import { ExchangeReader, type ExchangeError, type ExchangedPeer, type ExchangeRead } from '../../telemetry/tcp-metadata-exchange.js';

export interface MetadataExchangeOptions {
  /** The largest peer metadata taken, in bytes (limits.maxPeerMetadataBytes). */
  readonly maxBytes: number;
}

export type MetadataExchangeOutcome =
  | { readonly kind: 'done'; readonly peer: ExchangedPeer }
  | { readonly kind: 'absent'; readonly detail: string }
  | { readonly kind: 'closed'; readonly detail: string }
  | { readonly kind: 'error'; readonly error: ExchangeError; readonly detail: string };

/** One connection's exchange: settled once, by the first bytes the peer sends (or its close). */
export class PeerExchange {
  #outcome: MetadataExchangeOutcome | null = null;
  #waiters: ((outcome: MetadataExchangeOutcome) => void)[] = [];

  /** What settled it; null while the peer's first bytes are still to come. */
  get outcome(): MetadataExchangeOutcome | null {
    return this.#outcome;
  }

  /** The peer the exchange named, or null (none yet, none sent, or refused). */
  get peer(): ExchangedPeer | null {
    return this.#outcome?.kind === 'done' ? this.#outcome.peer : null;
  }

  /** Calls `cb` when settled (at once if it is). */
  whenSettled(cb: (outcome: MetadataExchangeOutcome) => void): void {
    if (this.#outcome !== null) cb(this.#outcome);
    else this.#waiters.push(cb);
  }

  settle(outcome: MetadataExchangeOutcome): void {
    if (this.#outcome !== null) return;
    this.#outcome = outcome;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const cb of waiters) cb(outcome);
  }
}

type Push = (chunk: unknown, encoding?: BufferEncoding) => boolean;

/**
 * Writes `ours` to `socket` and takes the peer's exchange off the socket's first bytes: every
 * chunk Node's handle reads goes through here (the socket's `push`) until the exchange is
 * settled, then the socket is left as it was. Bytes already buffered on the socket are read
 * first. On a refused exchange the socket is destroyed after the outcome is settled.
 */
export function startMetadataExchange(socket: Socket, ours: Buffer, opts: MetadataExchangeOptions): PeerExchange {
  const exchange = new PeerExchange();
  const reader = new ExchangeReader(opts.maxBytes);
  const own = socket as unknown as { push: Push };
  const original = own.push;
  /** Settles on `r` and returns the application bytes to hand on (null: none, or destroyed). */
  const step = (r: ExchangeRead): Buffer | null => {
    switch (r.kind) {
      case 'need_more': return null;
      case 'done': exchange.settle({ kind: 'done', peer: r.peer }); return r.rest.length > 0 ? r.rest : null;
      case 'absent': exchange.settle({ kind: 'absent', detail: r.detail }); return r.rest;
      case 'error':
        exchange.settle({ kind: 'error', error: r.error, detail: r.detail });
        socket.destroy();
        return null;
    }
  };
  const restore = (): void => {
    delete (own as { push?: Push }).push;
    if (own.push !== original) own.push = original;
  };
  own.push = function (this: Socket, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) {
      // The stream ended while the exchange was unsettled: bytes short of the magic were data.
      restore();
      const held = reader.held();
      if (!reader.magicRead && held.length > 0) {
        exchange.settle({ kind: 'absent', detail: 'the stream ended within the first 4 bytes (no TCP metadata exchange)' });
        original.call(this, held);
        return original.call(this, null);
      }
      if (held.length === 0) {
        exchange.settle({ kind: 'absent', detail: 'the stream ended before its first byte (no TCP metadata exchange)' });
        return original.call(this, null);
      }
      // Cut short within the exchange: no application byte came, the connection is closed.
      exchange.settle({ kind: 'closed', detail: `the peer closed within its metadata exchange (${held.length} bytes of it)` });
      socket.destroy();
      return false;
    }
    const out = step(reader.push(chunk as Buffer));
    if (exchange.outcome === null) return true;
    restore();
    if (socket.destroyed) return false;
    return out === null ? true : original.call(this, out);
  };
  if (socket.readableLength > 0) {
    const buffered = socket.read(socket.readableLength) as Buffer | null;
    if (buffered !== null) {
      const out = step(reader.push(buffered));
      if (exchange.outcome !== null) restore();
      if (out !== null) socket.unshift(out);
    }
  }
  socket.write(ours);
  return exchange;
}
