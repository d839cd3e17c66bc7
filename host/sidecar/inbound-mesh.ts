// The inbound listener's configuration, generated from the app ports: one catch-all virtual host
// whose routes send a request to the local app at <app address>:<port> (127.0.0.1, or ::1 on an
// IPv6-only pod: host/model/ip-families.ts), the port being the one the
// request's authority names. Istio's sidecar takes that port from the connection's original
// destination (SO_ORIGINAL_DST); Node cannot read it, so the Host header's port stands in.
import { noHeaderOps, type Cluster, type MeshConfig, type Route } from '../model/mesh.js';
import { istioDefaultRetryPolicy } from '../model/istio-defaults.js';

/** Where the inbound listener hands requests to the app unless told: IPv4 loopback, as Istio's sidecar does on a pod with IPv4. */
export const APP_ADDRESS = '127.0.0.1';

/** Istio's inbound cluster name for an app port: `inbound|5005||`. */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/**
 * An authority that names no port: a host name or IPv4 address without `:`, or a bracketed
 * IPv6 literal with nothing after it (regexes in route matches are full matches).
 */
export const AUTHORITY_WITHOUT_PORT = '[^:\\[\\]]+|\\[[^\\]]*\\]';

/** The route that serves requests whose authority has no port (HTTP's default port). */
export const DEFAULT_PORT_ROUTE_SUFFIX = 'default';

/**
 * The inbound MeshConfig for `appPorts` (validated, non-empty, in the order given): for each port
 * a route matching authorities with that port, then one route sending authorities without a port
 * to the first app port. Any other port matches no route and is answered 404 NR: forwarding it
 * would open every loopback-only service of the pod to whoever can reach the inbound port.
 *
 * `dedicated`: the inbound listener serves one app port only, so every request goes to it whatever
 * its authority names — the listener itself stands for the original destination Istio reads (the
 * demo's per-workload inbound port, which its WorkloadEntry names). Nothing else is reachable.
 *
 * `appAddress`: where the app is reached (the inbound clusters' one endpoint).
 */
export function inboundMesh(appPorts: readonly number[], dedicated = false, appAddress: string = APP_ADDRESS): MeshConfig {
  const appCluster = (port: number): Cluster => ({
    name: inboundClusterName(port),
    host: appAddress,
    port,
    subset: null,
    endpoints: [{ address: appAddress, port, labels: {}, weight: 1 }],
    lb: 'ROUND_ROBIN',
  });
  if (appPorts.length === 0) throw new Error('inboundMesh: at least one app port is needed');
  if (dedicated) {
    if (appPorts.length !== 1) throw new Error(`inboundMesh: a dedicated inbound listener serves exactly one app port, got ${appPorts.length}`);
    const port = appPorts[0]!;
    return {
      virtualHosts: [{ name: 'inbound|http|0', domains: ['*'], routes: [toApp(inboundClusterName(port), port, {})] }],
      clusters: [appCluster(port)],
    };
  }
  const clusters: Cluster[] = appPorts.map(appCluster);
  const routes: Route[] = appPorts.map((port) => toApp(inboundClusterName(port), port, { port }));
  const first = appPorts[0]!;
  routes.push(toApp(`${inboundClusterName(first)}${DEFAULT_PORT_ROUTE_SUFFIX}`, first, { authority: { kind: 'regex', value: AUTHORITY_WITHOUT_PORT } }));
  return { virtualHosts: [{ name: 'inbound|http|0', domains: ['*'], routes }], clusters };
}

function toApp(name: string, port: number, match: { port?: number; authority?: { kind: 'regex'; value: string } }): Route {
  return {
    name,
    matches: [{ uri: null, ignoreUriCase: false, headers: [], ...match }],
    destinations: [{ cluster: inboundClusterName(port), weight: 100, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() }],
    requestHeaders: noHeaderOps(),
    responseHeaders: noHeaderOps(),
    timeoutMs: null,
    // Istio's inbound routes do not retry: the caller's sidecar already applied its policy, and
    // retrying here too would multiply attempts against the app.
    retry: { ...istioDefaultRetryPolicy(), retries: 0 },
  };
}
