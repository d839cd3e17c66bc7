// AuthorizationPolicy on the data path, as Istio programs Envoy: the ext_authz filter for
// CUSTOM policies, then the RBAC filter (DENY, then ALLOW), with dry-run policies as its shadow
// rules and AUDIT as a logging RBAC filter. The decision is the core's (assembly/authz, one
// call per request over the config version's table); this filter writes the attributes the
// table reads, answers a denied request with Envoy's `403 RBAC: access denied`, asks the
// CUSTOM policy's provider through the ExtAuthzCheck seam, and counts Envoy's rbac.* stats.
// A policy selects workloads, not routes: it is a listener-level filter of the servers that
// serve the workload's inbound traffic, present only when the proxy has policies.
import { FilterStatus, type HttpFilter } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import type { ExtAuthzCheck, ExtAuthzVerdict } from '../ext-authz-check.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import type { Log } from '../../common/log.js';
import { rbacFilterKinds, type CompiledAuthorization } from '../../compile/authorization.js';
import { peerOf } from '../../tls/authz-peer.js';
import { istioPolicyId, deniedDetails } from '../../compile/authz-policy-id.js';
import {
  AuthzTable, writeAuthzAttributes,
  EV_DENIED, EV_CUSTOM, EV_SHADOW_ALLOWED, EV_SHADOW_DENIED, EV_AUDIT, A_DESTINATION_IP, A_DESTINATION_PORT,
} from '../../core/authz/authz-table.js';
import { ResponseFlag } from '../response-flags.js';
import { LOCAL_REPLY, statusLine } from '../local-reply.js';

/** Envoy's RBAC denial: status and body (source/extensions/filters/http/rbac). */
export const RBAC_DENIED_STATUS = '403 Forbidden';
export const RBAC_DENIED_BODY = 'RBAC: access denied';

/** What the filter is built with, beside the version's table. */
export interface AuthorizationDeps {
  readonly stats: StatScope<DownstreamStat>;
  /** The ext_authz checker of a meshConfig extension provider, or null (CUSTOM then denies: fail closed). */
  readonly extAuthz: (provider: string) => ExtAuthzCheck | null;
  /** Where AUDIT matches and dry-run (shadow) results are logged. */
  readonly log: Log | undefined;
  /** destination.port of a request (the app port a sidecar's inbound request goes to; the listener's port). */
  readonly destinationPort: (stream: StreamCallbacks) => number;
}

const NONE: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

export { istioPolicyId, deniedDetails };
/** One version's evaluation, shared by the stateless and the CUSTOM-aware filter. */
class Authorizer {
  readonly table: AuthzTable;
  readonly compiled: CompiledAuthorization;
  readonly deps: AuthorizationDeps;
  /** Some enforced ALLOW or DENY policy (Istio then has an enforcing RBAC filter: rbac.allowed/denied). */
  readonly enforcing: boolean;
  readonly auditing: boolean;
  /** The last denial's response code details (Envoy's), for logs and tests. */
  lastDetails = '';

  constructor(table: AuthzTable, compiled: CompiledAuthorization, deps: AuthorizationDeps) {
    this.table = table;
    this.compiled = compiled;
    this.deps = deps;
    ({ enforcing: this.enforcing, auditing: this.auditing } = rbacFilterKinds(compiled.policies));
  }

  /**
   * Writes the request's attributes and asks the core: the EV_* bits, or -1 when the request
   * cannot be evaluated (it does not fit the request view or the attribute region).
   */
  evaluate(stream: StreamCallbacks): number {
    if (stream.requestView() === null) return -1;
    const t = this.table;
    const ds = stream.downstream;
    const sec = ds.security;
    const mask = t.attrMask;
    // Istio's remote.ip is the original client (x-forwarded-for after the trusted hops); with
    // its default of 0 trusted hops, the connection's peer, as source.ip.
    const ok = writeAuthzAttributes(
      t, peerOf(sec), ds.remoteAddress, ds.remoteAddress,
      (mask & (1 << A_DESTINATION_IP)) !== 0 ? ds.localAddress ?? null : null,
      (mask & (1 << A_DESTINATION_PORT)) !== 0 ? this.deps.destinationPort(stream) : -1,
      sec?.sni ?? null, stream.requestAuth,
    );
    return ok ? t.evaluate() : -1;
  }

  /**
   * Shadow (dry-run) and AUDIT results: counted; a shadow denial and an AUDIT match logged (a
   * line per request the dry-run policies would let through would only bury those); nothing
   * enforced.
   */
  observe(stream: StreamCallbacks, bits: number): void {
    const stats = this.deps.stats;
    const log = this.deps.log;
    if ((bits & (EV_SHADOW_ALLOWED | EV_SHADOW_DENIED)) !== 0) {
      const denied = (bits & EV_SHADOW_DENIED) !== 0;
      stats.inc(denied ? 'rbac.shadow_denied' : 'rbac.shadow_allowed');
      if (denied && log !== undefined) {
        const p = this.table.shadowPolicy();
        log('info', `rbac: dry-run: shadow denied ${stream.downstream.method} ${stream.downstream.path} (shadow_effective_policy_id ${p < 0 ? 'none' : istioPolicyId(this.compiled.policies[p]!.name, this.table.shadowRule())})`);
      }
    }
    if (this.auditing) {
      if ((bits & EV_AUDIT) !== 0) {
        stats.inc('rbac.logged');
        log?.('info', `rbac: AUDIT ${stream.downstream.method} ${stream.downstream.path} matched ${istioPolicyId(this.compiled.policies[this.table.auditPolicy()]!.name, this.table.auditRule())}`);
      } else stats.inc('rbac.not_logged');
    }
  }

  /** The enforced decision (DENY, then ALLOW): answers 403 and returns false when denied. */
  enforce(stream: StreamCallbacks, bits: number): boolean {
    if (bits < 0) return this.deny(stream, -1, -1);
    if ((bits & EV_DENIED) !== 0) return this.deny(stream, this.table.policy(), this.table.rule());
    if (this.enforcing) this.deps.stats.inc('rbac.allowed');
    return true;
  }

  deny(stream: StreamCallbacks, policy: number, rule: number): false {
    this.deps.stats.inc('rbac.denied');
    this.lastDetails = deniedDetails(this.compiled, policy, rule);
    stream.sendLocalReply(RBAC_DENIED_STATUS, NONE, RBAC_DENIED_BODY);
    return false;
  }

  /** The request that could not be evaluated: no authorization without its attributes. */
  refuse(stream: StreamCallbacks, bits: number): FilterStatus {
    if (bits === -1 && stream.requestView() === null) {
      // The request does not fit the core's view: the answer routing would give.
      const r = LOCAL_REPLY[ResponseFlag.DownstreamProtocolError]!;
      this.deps.stats.inc('downstream_rq_header_overflow');
      stream.sendLocalReply(r.status, NONE, r.body, ResponseFlag.DownstreamProtocolError);
    } else this.deny(stream, -1, -1);
    return FilterStatus.StopIteration;
  }
}

/** A version without CUSTOM policies: stateless. */
function rbacFilter(a: Authorizer): HttpFilter {
  return {
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      const bits = a.evaluate(stream);
      if (bits < 0) return a.refuse(stream, bits);
      a.observe(stream, bits);
      return a.enforce(stream, bits) ? FilterStatus.Continue : FilterStatus.StopIteration;
    },
  };
}

/** One stream waiting for its CUSTOM policy's provider. */
class PendingCheck {
  readonly stream: StreamCallbacks;
  cancel: (() => void) | null = null;
  /** The verdict, when the checker answered inside check() (then the filter goes on inline). */
  verdict: ExtAuthzVerdict | null = null;
  sync = true;
  constructor(stream: StreamCallbacks) {
    this.stream = stream;
  }
}

/**
 * A version with CUSTOM policies. Listener filters are shared by every stream, so a request
 * waiting for its authorizer is kept in a map by stream (only those requests pay for it) and
 * dropped when its check answers or the stream ends first (onLog: the check is cancelled).
 */
function customFilter(a: Authorizer): HttpFilter {
  const pending = new Map<StreamCallbacks, PendingCheck>();
  /** The authorizer's verdict, then DENY and ALLOW on the request as it goes on; true: continue. */
  const decide = (stream: StreamCallbacks, v: ExtAuthzVerdict): boolean => {
    if (!v.allowed) {
      stream.setFlag(ResponseFlag.UnauthorizedExternalService);
      stream.sendLocalReply(statusLine(v.status), v.headersToDownstream, v.body);
      return false;
    }
    for (let i = 0; i < v.headersToUpstream.length; i++) stream.setRequestHeader(v.headersToUpstream[i]![0], v.headersToUpstream[i]![1]);
    // Evaluated again: other streams used the core's view meanwhile, and the authorizer's
    // headers are what DENY and ALLOW see (Envoy runs ext_authz before RBAC).
    const bits = a.evaluate(stream);
    if (bits < 0) {
      a.refuse(stream, bits);
      return false;
    }
    return a.enforce(stream, bits);
  };
  return {
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      const bits = a.evaluate(stream);
      if (bits < 0) return a.refuse(stream, bits);
      a.observe(stream, bits);
      if ((bits & EV_CUSTOM) === 0) return a.enforce(stream, bits) ? FilterStatus.Continue : FilterStatus.StopIteration;
      // CUSTOM first: the matched policy's provider decides before DENY and ALLOW.
      const provider = a.compiled.policies[a.table.customPolicy()]!.provider ?? '';
      const check = a.deps.extAuthz(provider);
      if (check === null) {
        // No authorizer for the provider: fail closed, as an unreachable one without failOpen.
        stream.setFlag(ResponseFlag.UnauthorizedExternalService);
        stream.sendLocalReply(RBAC_DENIED_STATUS, NONE, '');
        return FilterStatus.StopIteration;
      }
      const p = new PendingCheck(stream);
      pending.set(stream, p);
      p.cancel = check.check(stream, (v) => {
        if (pending.get(stream) !== p) return; // answered twice, or the stream ended first
        if (p.sync) {
          p.verdict = v;
          return;
        }
        pending.delete(stream);
        if (decide(stream, v)) stream.continueDecoding();
      });
      p.sync = false;
      if (p.verdict !== null) {
        pending.delete(stream);
        return decide(stream, p.verdict) ? FilterStatus.Continue : FilterStatus.StopIteration;
      }
      return FilterStatus.StopIteration;
    },
    onLog(stream: StreamCallbacks): void {
      const p = pending.get(stream);
      if (p === undefined) return;
      pending.delete(stream);
      p.cancel?.();
    },
  };
}

/**
 * The authorization filter of one config version over its loaded `table` (released by the
 * version's disposers, not here); `details` reads the last denial's response code details.
 */
export function authorizationFilter(table: AuthzTable, compiled: CompiledAuthorization, deps: AuthorizationDeps): HttpFilter & { readonly details: () => string } {
  const a = new Authorizer(table, compiled, deps);
  const custom = compiled.policies.some((p) => p.action === 'CUSTOM' && !p.dryRun);
  const f = custom ? customFilter(a) : rbacFilter(a);
  return Object.assign(f, { details: () => a.lastDetails });
}
