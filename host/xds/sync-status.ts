// Per proxy and resource type: what was sent (version, nonce, when), what the proxy ACKed, and its
// last NACK — what `/debug/syncz` and `wasmesh proxy-status` show (SYNCED, NOT SENT, STALE,
// NACKed), and what convergence time is measured on.

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
}

export type SyncState = 'SYNCED' | 'NOT SENT' | 'STALE' | 'NACKED';

export function syncState(t: TypeSync | undefined): SyncState {
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
  return { sentVersion: null, sentNonce: null, sentAt: null, changedAt: null, ackedVersion: null, ackedNonce: null, ackedAt: null, nack: null, resources: 0 };
}
