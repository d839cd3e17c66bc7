// What AuthorizationPolicy reads of a connection's peer (source.principal, source.namespace):
// the verified client certificate's SPIFFE ID without `spiffe://`, and the namespace in it;
// derived once per connection and shared by the HTTP RBAC filter and the RBAC network filter.
import type { ConnectionSecurity } from './connection-security.js';
import { namespaceOfPrincipal, type AuthzPeer } from '../core/authz/authz-table.js';

const PEERS = new WeakMap<ConnectionSecurity, AuthzPeer>();
const NO_PEER: AuthzPeer = Object.freeze({ principal: null, namespace: null });

/** source.principal and source.namespace of the connection (mutual TLS only), or null. */
export function peerOf(security: ConnectionSecurity | null): AuthzPeer | null {
  if (security === null || !security.mutualTls || security.peerSpiffeId === null) return null;
  let p = PEERS.get(security);
  if (p === undefined) {
    const id = security.peerSpiffeId;
    const principal = id.startsWith('spiffe://') ? id.slice('spiffe://'.length) : null;
    p = principal === null ? NO_PEER : { principal, namespace: namespaceOfPrincipal(principal) };
    PEERS.set(security, p);
  }
  return p;
}
