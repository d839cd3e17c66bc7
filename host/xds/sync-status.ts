// Per proxy and resource type: what was sent (version, nonce, when), what the proxy ACKed, and its
// last NACK — what `/debug/syncz` and `wasmesh proxy-status` show (SYNCED, NOT SENT, STALE,
// NACKed, or IGNORED for a type the proxy asks for nothing of, as istioctl says), and what
// convergence time is measured on.

export interface TypeSync {
  sentVersion: string | null;
  sentNonce: string | null;
  sentAt: number | null;
  /** When the config change behind the sent version happened (convergence time starts here). */
  changedAt: number | null;
  ackedVersion: string | null;
  ackedNonce: string | null;
  ackedAt: number | null;
  /** The last NACK: the version refused and the proxy's reason. */
  nack: { version: string; nonce: string; message: string; at: number } | null;
  resources: number;
  /**
   * Whether the proxy asks for any resource of the type. False once it names none (Envoy with
   * no route configuration or EDS cluster left): nothing is owed to it, and what was sent last
   * may rightly never be ACKed (Envoy takes a response for a type it no longer watches silently).
   */
  watching: boolean;
}

export type SyncState = 'SYNCED' | 'NOT SENT' | 'STALE' | 'NACKED' | 'IGNORED';

export function syncState(t: TypeSync | undefined): SyncState {
  if (t && !t.watching) return 'IGNORED';
  if (!t || t.sentNonce === null) return 'NOT SENT';
  if (t.nack !== null && t.nack.nonce === t.sentNonce) return 'NACKED';
  if (t.ackedNonce === t.sentNonce) return 'SYNCED';
  return 'STALE';
}

export interface ProxySync {
  proxyId: string;
  /** Client kind and stream protocol (sotw or delta). */
  kind: string;
  protocol: 'sotw' | 'delta';
  connectedAt: number;
  types: Map<string, TypeSync>;
  metadata: Record<string, unknown>;
}

export function emptyTypeSync(): TypeSync {
  return { sentVersion: null, sentNonce: null, sentAt: null, changedAt: null, ackedVersion: null, ackedNonce: null, ackedAt: null, nack: null, resources: 0, watching: true };
}
