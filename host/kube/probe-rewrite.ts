// Istio's probe rewrite at injection: an app container's httpGet and tcpSocket probes are pointed
// at the sidecar's `15020/app-health/<container>/<readyz|livez|startupz>`, and the originals (their
// named ports resolved) are handed to the sidecar as ISTIO_KUBE_APP_PROBERS, which it answers by
// probing the app itself (host/admin/app-prober.ts). Without this the kubelet's probe would be
// captured inbound: a tcpSocket probe would check the sidecar's listener, not the app, and under
// STRICT mTLS the kubelet's plaintext probe would be refused. Left alone: exec and gRPC probes,
// httpGet probes that name another `host`, and every probe when
// `sidecar.istio.io/rewriteAppHTTPProbers: "false"`.
import { TemplateShapeError } from './pod-template.js';

export const A_REWRITE_PROBES = 'sidecar.istio.io/rewriteAppHTTPProbers';
/** The sidecar's agent port, where the prober answers (the merged-stats port). */
export const PROBER_PORT = 15020;
const KINDS = [['readinessProbe', 'readyz'], ['livenessProbe', 'livez'], ['startupProbe', 'startupz']] as const;

type Obj = Record<string, any>;

/**
 * Rewrites the probes of `containers` in place; returns ISTIO_KUBE_APP_PROBERS' map (path →
 * original probe), empty when nothing was rewritten. A named port the container does not declare
 * is an error at the probe's path (inside the pod template).
 */
export function rewriteAppProbes(containers: Obj[]): Record<string, Obj> {
  const probers: Record<string, Obj> = {};
  containers.forEach((c, i) => {
    for (const [field, suffix] of KINDS) {
      const probe = c[field] as Obj | undefined;
      if (probe === undefined || probe === null || typeof probe !== 'object') continue;
      const at = `spec.containers[${i}].${field}`;
      let original: Obj;
      if (probe.httpGet && typeof probe.httpGet === 'object') {
        if (probe.httpGet.host !== undefined && probe.httpGet.host !== '') continue;
        const { host: _host, ...get } = probe.httpGet as Obj;
        original = { httpGet: { ...get, port: resolvePort(c, get.port, `${at}.httpGet.port`) } };
      } else if (probe.tcpSocket && typeof probe.tcpSocket === 'object') {
        if (probe.tcpSocket.host !== undefined && probe.tcpSocket.host !== '') continue;
        original = { tcpSocket: { port: resolvePort(c, probe.tcpSocket.port, `${at}.tcpSocket.port`) } };
      } else {
        continue;
      }
      if (probe.timeoutSeconds !== undefined) original.timeoutSeconds = probe.timeoutSeconds;
      const path = `/app-health/${c.name as string}/${suffix}`;
      probers[path] = original;
      delete probe.tcpSocket;
      probe.httpGet = { path, port: PROBER_PORT, scheme: 'HTTP' };
    }
  });
  return probers;
}

/** A probe's port: a number, or the name of one of the container's ports. */
function resolvePort(c: Obj, port: unknown, at: string): number {
  if (Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535) return port as number;
  if (typeof port === 'string' && /^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535) return Number(port);
  if (typeof port === 'string') {
    const named = (Array.isArray(c.ports) ? c.ports : []).find((p: Obj) => p?.name === port);
    if (named) return named.containerPort as number;
    throw new TemplateShapeError(at, `names port "${port}", which container ${String(c.name)} does not declare`, true);
  }
  throw new TemplateShapeError(at, 'must be a port number (1-65535) or a port name', true);
}
