// meshConfig pathNormalization as Istio programs Envoy's HttpConnectionManager: NONE turns
// normalize_path off; BASE turns it on (RFC 3986 dot segments, unreserved %-escapes decoded,
// backslash to slash); MERGE_SLASHES adds merge_slashes; DECODE_AND_MERGE_SLASHES also decodes
// %2F/%5C first (path_with_escaped_slashes_action UNESCAPE_AND_FORWARD). Envoy strips the
// #fragment in every mode (Istio's bootstrap runtime flag, PATH_RUNTIME_FLAGS). wasmesh's data path does the same (http/path-normalization.ts).
import type { PathNormalization } from '../model/mesh-settings.js';

/** The HCM fields for `mode` (absent: BASE), to spread into the connection manager's config. */
export function hcmPathNormalization(mode: PathNormalization | undefined): Record<string, unknown> {
  switch (mode ?? 'BASE') {
    case 'NONE':
      return { normalize_path: false };
    case 'BASE':
      return { normalize_path: true };
    case 'MERGE_SLASHES':
      return { normalize_path: true, merge_slashes: true };
    case 'DECODE_AND_MERGE_SLASHES':
      return { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' };
  }
}

/**
 * The runtime flags Istio's bootstrap sets for the same path handling: a `#fragment` is stripped
 * (Envoy's default is to refuse the request with 400); wasmesh strips it too.
 */
export const PATH_RUNTIME_FLAGS: Readonly<Record<string, boolean>> = Object.freeze({
  'envoy.reloadable_features.http_reject_path_with_fragment': false,
});
