// A cluster's TLS origination as the transport takes it: the model's resolved ClusterTls
// (DestinationRule tls or auto mTLS, host/model/cluster-tls.ts) as UpstreamTlsSettings, or null
// for plaintext; and the key that tells whether a new config version changed it (a changed
// cluster gets a new pool, so no connection made under the old settings is reused).
import type { ClusterTls } from '../model/cluster-tls.js';
import type { UpstreamTlsSettings } from '../tls/tls-settings.js';

export function upstreamTlsSettings(tls: ClusterTls | undefined): UpstreamTlsSettings | null {
  if (tls === undefined || tls.mode === 'DISABLE') return null;
  const { auto: _auto, ...settings } = tls;
  return settings;
}

/** '' for plaintext; else the settings' JSON (equal settings, equal key). */
export function transportKey(settings: UpstreamTlsSettings | null): string {
  return settings === null ? '' : JSON.stringify(settings);
}
