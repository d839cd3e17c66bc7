// Envoy's tls_inspector listener filter for a raw TCP connection: reads the ClientHello with
// the core's reader (host/core/tls/client-hello.ts) before any route is chosen, without
// consuming it — the bytes read are put back at the head of the socket's buffer (unshift), so
// the byte proxy forwards them verbatim and the backend does the handshake itself.
//
// Outcomes, as Envoy's: a whole ClientHello (SNI and ALPN, or none) → continue; not TLS or
// malformed → continue without SNI (tls_not_found); a ClientHello over the size limit → close
// (client_hello_too_large); nothing decided within the listener filter timeout (Envoy's
// listener_filters_timeout, default 15 s) → close (downstream_pre_cx_timeout), or continue
// without SNI when continueOnTimeout is set (Envoy's continue_on_listener_filters_timeout).
import type { Socket } from 'node:net';
import type { Core } from '../../core/wasm.js';
import { ClientHelloReader, DEFAULT_MAX_CLIENT_HELLO, type ClientHelloResult } from '../../core/tls/client-hello.js';
import type { TlsInspectorStats } from '../../telemetry/stats.js';

/** Envoy's listener_filters_timeout default: 15 s. */
export const LISTENER_FILTERS_TIMEOUT_MS = 15_000;

export interface TlsInspectorOptions {
  /** How long the ClientHello may take; default 15 s (0: no limit). */
  timeoutMs?: number;
  /** Continue without SNI after the timeout instead of closing (default false, as Envoy). */
  continueOnTimeout?: boolean;
  /** Envoy's max_client_hello_size: default and maximum 64 KiB. */
  maxClientHelloBytes?: number;
}

/** What the inspector decided: route with this SNI (null: none), or close. */
export type InspectOutcome =
  | { readonly action: 'continue'; readonly sni: string | null; readonly alpn: readonly string[]; readonly tls: boolean; readonly timedOut: boolean }
  | { readonly action: 'close'; readonly reason: 'too_large' | 'timeout' | 'downstream_closed' };

/**
 * Reads `socket` (paused, as the TCP listener hands it over) until the ClientHello is decided,
 * then pauses it again with every byte read put back, and calls `done` once.
 */
export function inspectClientHello(socket: Socket, core: Core, stats: TlsInspectorStats, opts: TlsInspectorOptions, done: (outcome: InspectOutcome) => void): void {
  const reader = new ClientHelloReader(core, opts.maxClientHelloBytes ?? DEFAULT_MAX_CLIENT_HELLO);
  const chunks: Buffer[] = [];
  let finished = false;
  const timeoutMs = opts.timeoutMs ?? LISTENER_FILTERS_TIMEOUT_MS;
  const finish = (outcome: InspectOutcome): void => {
    if (finished) return;
    finished = true;
    if (timer !== null) clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onClose);
    socket.pause();
    reader.release();
    // Put back what was read: the session forwards it first, untouched.
    if (outcome.action === 'continue' && chunks.length > 0) socket.unshift(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    done(outcome);
  };
  const decided = (r: ClientHelloResult, timedOut: boolean): void => {
    if (r.kind === 'too_large') {
      stats.inc('client_hello_too_large');
      return finish({ action: 'close', reason: 'too_large' });
    }
    if (r.kind !== 'tls') {
      stats.inc('tls_not_found');
      return finish({ action: 'continue', sni: null, alpn: [], tls: false, timedOut });
    }
    stats.inc('tls_found');
    stats.inc(r.sni !== null ? 'sni_found' : 'sni_not_found');
    stats.inc(r.alpn.length > 0 ? 'alpn_found' : 'alpn_not_found');
    finish({ action: 'continue', sni: r.sni, alpn: r.alpn, tls: true, timedOut });
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    const r = reader.push(chunk);
    if (r.kind !== 'need_more') decided(r, false);
  };
  // A client that half-closes before its ClientHello is whole cannot complete a handshake
  // (and its bytes cannot be put back after the end): closed.
  const onEnd = (): void => finish({ action: 'close', reason: 'downstream_closed' });
  const onClose = (): void => finish({ action: 'close', reason: 'downstream_closed' });
  const timer = timeoutMs > 0
    ? setTimeout(() => {
      if (opts.continueOnTimeout === true) finish({ action: 'continue', sni: null, alpn: [], tls: false, timedOut: true });
      else finish({ action: 'close', reason: 'timeout' });
    }, timeoutMs)
    : null;
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onClose);
  socket.resume();
}
