// `--allow-unenforced-security`, declared once for every command that loads Istio YAML (proxy,
// sidecar, demo, envoy-config), so each one says the same thing about what it turns off.
import type { FlagSpec } from './args.js';

export const ALLOW_UNENFORCED_SECURITY: FlagSpec = {
  name: 'allow-unenforced-security',
  kind: 'boolean',
  help:
    'run even though the config asks for protection this version cannot enforce (AuthorizationPolicy, ' +
    'Gateway TLS passthrough or ISTIO_MUTUAL, DestinationRule caCrl; and without a workload identity ' +
    '(--token-file, --cert-dir) PeerAuthentication STRICT and ISTIO_MUTUAL): each such setting is then ' +
    'skipped with a NOT ENFORCED warning instead of failing the load. Traffic is served without it.',
};
