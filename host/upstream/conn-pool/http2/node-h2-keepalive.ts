// PING keepalive (Envoy's cluster http2_protocol_options.connection_keepalive) for a pooled
// node:http2 ClientHttp2Session: the same timer as the core codec's upstream connection
// (core/h2/h2-keepalive.ts) — a PING every interval less up to 15 % jitter, no ACK with its data
// within the timeout → the session is destroyed (its streams fail) and `http2.keepalive_timeout`
// counted on the cluster; `connection_idle_interval` sends a PING before a stream on a connection
// that received nothing that long.
//
// What differs from the core connection: node:http2 reads the socket itself, so "a frame
// arrived" is known only from the session's and its streams' events (a response head, DATA,
// trailers, SETTINGS, GOAWAY, a peer's PING), which the connection and its streams report with
// received(); frames node consumes without an event (WINDOW_UPDATE, a peer's PING ACK for
// another PING) do not extend the wait.
import type { ClientHttp2Session } from 'node:http2';
import { H2Keepalive, keepaliveOn, type H2KeepaliveSettings } from '../../../core/h2/h2-keepalive.js';
import type { ClusterStats } from '../../../telemetry/stats.js';

/** A keepalive on `session`, or null when the settings ask for no PING (Envoy's default). */
export function nodeH2Keepalive(session: ClientHttp2Session, settings: Readonly<H2KeepaliveSettings> | undefined, stats: ClusterStats): H2Keepalive | null {
  if (settings === undefined || !keepaliveOn(settings)) return null;
  const keepalive: H2Keepalive = new H2Keepalive(settings, {
    sendPing: (opaque) => {
      if (session.destroyed || session.closed) return;
      try {
        // The callback runs with the ACK's payload (or an error when the session went away
        // first: then the session's close stops the keepalive).
        session.ping(opaque, (err, _ms, payload) => {
          if (err === null) keepalive.ack(payload);
        });
      } catch {
        // Too many PINGs outstanding or the session closing: the timeout decides.
      }
    },
    keepaliveTimeout: () => {
      if (session.destroyed) return;
      stats.incDynamic('http2.keepalive_timeout');
      session.destroy();
    },
  });
  session.on('remoteSettings', () => keepalive.received());
  session.on('ping', () => keepalive.received());
  session.on('goaway', () => keepalive.received());
  session.once('close', () => keepalive.stop());
  return keepalive;
}
