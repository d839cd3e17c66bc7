// meshConfig pathNormalization as Envoy's connection manager settings, the way istiod sets them on
// every HTTP listener (listener_builder.go): what a route and the RBAC filter see is the
// normalized path, so `/./admin`, `/a/../admin` or (with MERGE_SLASHES) `//admin` cannot slip past
// an AuthorizationPolicy on `/admin*`. Absent: Istio's default, BASE.
import type { PathNormalization } from '../model/mesh-settings.js';
import type { Obj } from './istio-resources.js';

export function envoyPathNormalization(mode: PathNormalization | undefined): Obj {
  // Istio leaves escaped slashes alone except with DECODE_AND_MERGE_SLASHES.
  const out: Obj = { path_with_escaped_slashes_action: 'KEEP_UNCHANGED' };
  switch (mode ?? 'BASE') {
    case 'NONE':
      out.normalize_path = false;
      break;
    case 'BASE':
      out.normalize_path = true;
      break;
    case 'MERGE_SLASHES':
      Object.assign(out, { normalize_path: true, merge_slashes: true });
      break;
    case 'DECODE_AND_MERGE_SLASHES':
      Object.assign(out, { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' });
      break;
  }
  return out;
}
