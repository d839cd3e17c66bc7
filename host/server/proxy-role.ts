// What traffic a ProxyServer's listener carries, which decides where Istio's workload policies
// apply (one concept instead of separate authorization and "serves inbound" switches):
//  - 'sidecar-inbound': a sidecar's inbound listener, the traffic to its workload:
//    RequestAuthentication and AuthorizationPolicy both apply;
//  - 'sidecar-outbound': a sidecar's outbound listener, what its workload sends: neither applies
//    (Istio's policies select the destination workload, never the client's outbound);
//  - 'proxy' (the default): `wasmesh proxy`, standalone or as a gateway. AuthorizationPolicy
//    applies (the proxy stands in front of what it serves); RequestAuthentication only on a
//    gateway listener (ProxyServerOptions.gatewayPort), as Istio's gateways; a mesh-mode proxy
//    checks no token, so a policy that requires one denies there (fail closed).
export type ProxyRole = 'proxy' | 'sidecar-inbound' | 'sidecar-outbound';

/** AuthorizationPolicy is evaluated on this listener. */
export function enforcesAuthorization(role: ProxyRole): boolean {
  return role !== 'sidecar-outbound';
}

/** RequestAuthentication (the JWT filter) runs on this listener. */
export function authenticatesRequests(role: ProxyRole, gateway: boolean): boolean {
  return role === 'sidecar-inbound' || (role === 'proxy' && gateway);
}
