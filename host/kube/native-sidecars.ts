// Whether the injector makes istio-proxy a Kubernetes native sidecar, as istiod decides it:
// ENABLE_NATIVE_SIDECARS is `true`, `false` or `auto` (Istio 1.27's default), and `auto` turns
// native sidecars on when the cluster runs Kubernetes 1.33 or later (where sidecar containers are
// GA; Istio checks the nodes' kubelets, wasmesh the API server's /version). A pod overrides the
// result with the `sidecar.istio.io/nativeSidecar` annotation (host/kube/injection-settings.ts).

export type NativeSidecarMode = 'true' | 'false' | 'auto';

/** The first Kubernetes minor version `auto` turns native sidecars on for (Istio 1.27+). */
export const AUTO_NATIVE_MIN_MINOR = 33;

export interface KubeVersion {
  major: number;
  minor: number;
}

/** `true|false|auto` (case-insensitive), or an error message naming `where`. */
export function nativeSidecarMode(text: string, where: string): NativeSidecarMode {
  const v = text.trim().toLowerCase();
  if (v === 'true' || v === 'false' || v === 'auto') return v;
  throw new Error(`${where} must be true, false or auto, got ${JSON.stringify(text)}`);
}

/**
 * `1.33`, `v1.34.4`, or the API server's /version body (`{"major":"1","minor":"34+"}`) → the
 * version; null when it cannot be read (auto then stays off).
 */
export function kubeVersionOf(value: string | { major?: unknown; minor?: unknown }): KubeVersion | null {
  if (typeof value === 'string') {
    const m = /^v?(\d+)\.(\d+)/.exec(value.trim());
    return m === null ? null : { major: Number(m[1]), minor: Number(m[2]) };
  }
  const major = parseInt(String(value.major ?? ''), 10);
  const minor = parseInt(String(value.minor ?? ''), 10);
  return Number.isNaN(major) || Number.isNaN(minor) ? null : { major, minor };
}

/** The injector's default for a mode and the cluster's version (null: unknown). */
export function nativeSidecarsFor(mode: NativeSidecarMode, version: KubeVersion | null): boolean {
  if (mode !== 'auto') return mode === 'true';
  if (version === null) return false;
  return version.major > 1 || (version.major === 1 && version.minor >= AUTO_NATIVE_MIN_MINOR);
}
