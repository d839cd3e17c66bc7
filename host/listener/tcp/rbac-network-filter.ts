// AuthorizationPolicy on a TCP connection, as Istio programs Envoy's RBAC *network* filter
// (envoy.filters.network.rbac, stat_prefix `tcp.`) on a sidecar's inbound TCP chains: run once
// per connection, before the upstream connect, over the attributes a connection has — the peer
// principal and namespace (mutual TLS), source and destination address, destination port, SNI.
// The decision is the core's, over the config version's authorization table the HTTP filter
// reads too (assembly/authz, evaluated as a connection: HTTP-only fields as Istio builds them
// for TCP, see assembly/authz/evaluate.ts). A denied connection is closed with Envoy's
// connection termination details `rbac_access_denied_matched_policy[<id>|none]`.
//
// CUSTOM: Istio calls the provider's ext_authz network filter; wasmesh has no TCP ext_authz
// client, so a connection a CUSTOM policy matches is denied (fail closed, as an unreachable
// provider without failOpen), and the filter's construction warns once.
import type { Log } from '../../common/log.js';
import type { RbacNetworkStats } from '../../telemetry/stats.js';
import type { ConnectionSecurity } from '../../tls/connection-security.js';
import { rbacFilterKinds, type CompiledAuthorization } from '../../compile/authorization.js';
import {
  AuthzTable, writeAuthzAttributes, EV_DENIED, EV_CUSTOM, EV_SHADOW_ALLOWED, EV_SHADOW_DENIED, EV_AUDIT,
} from '../../core/authz/authz-table.js';
import { peerOf } from '../../tls/authz-peer.js';
import { deniedDetails, istioPolicyId } from '../../compile/authz-policy-id.js';

/** What a connection offers the policies. */
export interface ConnectionAttributes {
  /** source.ip (remote.ip too: no x-forwarded-for on TCP), or null. */
  readonly remoteAddress: string | null;
  /** destination.ip: the original destination, or null. */
  readonly localAddress: string | null;
  /** destination.port: the original destination's port. */
  readonly localPort: number;
  /** The connection's TLS as the mesh transport established it; null: plaintext. */
  readonly security: ConnectionSecurity | null;
}

export interface RbacNetworkDeps {
  readonly stats: RbacNetworkStats;
  /** AUDIT matches, shadow denials, and the CUSTOM warning. */
  readonly log: Log | undefined;
}

/** One config version's RBAC network filter over its loaded table (released by the version, not here). */
export class RbacNetworkFilter {
  readonly #table: AuthzTable;
  readonly #compiled: CompiledAuthorization;
  readonly #deps: RbacNetworkDeps;
  /** Some enforced ALLOW or DENY policy (Istio then has an enforcing RBAC filter: rbac.allowed/denied). */
  readonly #enforcing: boolean;
  readonly #auditing: boolean;

  constructor(table: AuthzTable, compiled: CompiledAuthorization, deps: RbacNetworkDeps) {
    this.#table = table;
    this.#compiled = compiled;
    this.#deps = deps;
    const ps = compiled.policies;
    const kinds = rbacFilterKinds(ps);
    this.#enforcing = kinds.enforcing;
    this.#auditing = kinds.auditing;
    const custom = ps.filter((p) => p.action === 'CUSTOM' && !p.dryRun).map((p) => p.name);
    if (custom.length > 0) deps.log?.('warn', `rbac (tcp): CUSTOM AuthorizationPolicy ${custom.join(', ')} cannot be asked on TCP (no ext_authz network filter): inbound TCP connections it matches are denied`);
  }

  /**
   * Decides connection `c`: null to continue to the upstream, else Envoy's termination details
   * of the denial (the caller closes the connection). Counts `tcp.rbac.*`.
   */
  onNewConnection(c: ConnectionAttributes): string | null {
    const t = this.#table;
    const sec = c.security;
    // Istio's remote.ip on TCP is the connection's peer, as source.ip.
    const ok = writeAuthzAttributes(t, peerOf(sec), c.remoteAddress, c.remoteAddress, c.localAddress, c.localPort, sec?.sni ?? null, null);
    // Attributes that do not fit: no authorization without them.
    if (!ok) return this.#deny(-1, -1);
    const bits = t.evaluateConnection();
    this.#observe(c, bits);
    if ((bits & EV_CUSTOM) !== 0) return this.#deny(t.customPolicy(), t.customRule());
    if ((bits & EV_DENIED) !== 0) return this.#deny(t.policy(), t.rule());
    if (this.#enforcing) this.#deps.stats.inc('allowed');
    return null;
  }

  #deny(policy: number, rule: number): string {
    this.#deps.stats.inc('denied');
    return deniedDetails(this.#compiled, policy, rule);
  }

  /** Shadow (dry-run) and AUDIT results: counted, a shadow denial and an AUDIT match logged; nothing enforced. */
  #observe(c: ConnectionAttributes, bits: number): void {
    const { stats, log } = this.#deps;
    if ((bits & (EV_SHADOW_ALLOWED | EV_SHADOW_DENIED)) !== 0) {
      const denied = (bits & EV_SHADOW_DENIED) !== 0;
      stats.inc(denied ? 'shadow_denied' : 'shadow_allowed');
      if (denied && log !== undefined) {
        const p = this.#table.shadowPolicy();
        log('info', `rbac (tcp): dry-run: shadow denied ${c.remoteAddress ?? '?'} -> ${c.localAddress ?? '?'}:${c.localPort} (shadow_effective_policy_id ${p < 0 ? 'none' : istioPolicyId(this.#compiled.policies[p]!.name, this.#table.shadowRule())})`);
      }
    }
    if (!this.#auditing) return;
    if ((bits & EV_AUDIT) !== 0) {
      stats.inc('logged');
      log?.('info', `rbac (tcp): AUDIT ${c.remoteAddress ?? '?'} -> ${c.localAddress ?? '?'}:${c.localPort} matched ${istioPolicyId(this.#compiled.policies[this.#table.auditPolicy()]!.name, this.#table.auditRule())}`);
    } else stats.inc('not_logged');
  }
}
