// Memory per idle mTLS connection: the inbound sidecar's resident memory before and after `n`
// keep-alive mTLS connections are opened to it (as the client side's sidecar opens them: its
// certificate, Istio's ALPN), each having carried one request to the app and then left idle.
// (after − before) ÷ n is what one more idle mesh connection costs that sidecar: TLS session
// state, socket buffers, the HTTP connection's own state.
import type { TLSSocket } from 'node:tls';
import { connectMtls, type MtlsInbound } from './mtls-check.js';
import type { PairCertificates } from './mtls-pair.js';
import { statusMiB } from './proc-stats.js';
import { exchange } from './raw-http.js';
import type { IdleMtlsRecord } from './report-types.js';

/** Concurrent handshakes while opening: few enough that the sidecars' pools to the app stay small. */
const OPENING_BATCH = 8;
/** Time for the sidecar to settle (GC, freed handshake buffers) before each reading. */
const SETTLE_MS = 1500;

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));

function resident(pid: number): { rss: number; anon: number } {
  return { rss: statusMiB(pid, 'VmRSS'), anon: statusMiB(pid, 'RssAnon') };
}

export async function idleMtlsConnections(
  inbound: MtlsInbound,
  certs: PairCertificates,
  n: number,
  where: { contender: IdleMtlsRecord['contender']; workers: number },
): Promise<IdleMtlsRecord> {
  const sockets: TLSSocket[] = [];
  try {
    // Open one first so one-time costs (first handshake, the pool to the app) fall before "before".
    const first = await connectMtls(inbound, certs);
    sockets.push(first);
    await exchange(first, '/', {});
    await settle();
    const before = resident(inbound.pid);
    while (sockets.length < n + 1) {
      const batch = Math.min(OPENING_BATCH, n + 1 - sockets.length);
      await Promise.all(Array.from({ length: batch }, async () => {
        const s = await connectMtls(inbound, certs);
        sockets.push(s);
        const res = await exchange(s, '/', {});
        if (res.status !== 200) throw new Error(`HTTP ${res.status} on an mTLS connection to the inbound sidecar`);
      }));
    }
    await settle();
    const after = resident(inbound.pid);
    const open = sockets.filter((s) => !s.destroyed).length - 1;
    if (open < n) throw new Error(`the inbound sidecar closed ${n - open} of ${n} idle connections within ${SETTLE_MS} ms`);
    return {
      ...where,
      connections: n,
      rssBeforeMiB: before.rss,
      rssAfterMiB: after.rss,
      anonBeforeMiB: before.anon,
      anonAfterMiB: after.anon,
      kibPerConnection: ((after.rss - before.rss) * 1024) / n,
      anonKibPerConnection: ((after.anon - before.anon) * 1024) / n,
    };
  } finally {
    for (const s of sockets) s.destroy();
  }
}
