// DestinationRule trafficPolicy → each cluster's lb and ClusterPolicy. Levels merge as current
// Istio merges them (MergeSubsetTrafficPolicy / GetPortLevelTrafficPolicy, pilot networking
// util), per cluster port:
//   1. service level: the trafficPolicy, or — when its portLevelSettings has an entry for the
//      port — that entry ALONE (a port entry does not inherit: what it leaves out is default);
//   2. subset level, same rule over the subset's trafficPolicy;
//   3. the subset level overrides the service level sub-policy by sub-policy (loadBalancer,
//      connectionPool, outlierDetection, tls: each taken whole, never merged field by field);
//      when the subset level came from a port entry, all four are taken from it, unset or not.
// Translation: loadBalancer unset (or simple UNSPECIFIED, or the deprecated LEAST_CONN) is
// LEAST_REQUEST, Istio's default; consistentHash through consistentHashFromIstio; connectionPool
// through circuitBreakerLimitsFromIstio plus the connection settings (connectTimeout default
// 10 s, http.idleTimeout default 1 h, 0 = none; tcpKeepalive fields unset take Linux's
// defaults 7200 s / 75 s / 9 probes, as Envoy leaves them to the OS); outlierDetection through
// outlierSettingsFromIstio (absent: off).
import type { ConfigIssueCode } from '../config-error.js';
import { parseDuration } from '../../common/duration.js';
import type { ConnectionPoolSpec, DestinationRuleSpec, LoadBalancerSpec, OutlierDetectionSpec, TrafficPolicySpec } from '../istio-schemas.js';
import { issueAt, warningAt, type DocumentRef } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import { checkClientTls } from '../security-checks.js';
import type { SecurityGate } from '../security-gate.js';
import type { LocatedPolicy, SubsetInfo } from './subset-registry.js';
import type { PathSegment } from '../yaml-source.js';
import type { ClusterPolicy, ConnectionSettings, LbPolicy } from '../../model/mesh.js';
import type { HashLbDescriptor } from '../../model/hash-lb.js';
import { ENVOY_IDLE_TIMEOUT_MS, ISTIO_CONNECT_TIMEOUT_MS, ISTIO_DEFAULT_LB, LINUX_KEEPALIVE } from '../../model/istio-defaults.js';
import { circuitBreakerLimitsFromIstio } from './circuit-breaker-limits.js';
import { consistentHashFromIstio, HashLbError } from './consistent-hash.js';
import { IstioPolicyError } from './istio-policy-error.js';
import { outlierSettingsFromIstio } from './outlier-settings.js';

const SUB_POLICIES = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls'] as const;
type SubPolicyKey = (typeof SUB_POLICIES)[number];

interface Located<T> {
  value: T;
  ref: DocumentRef;
  path: PathSegment[];
}

/** The sub-policies one cluster ends up with, each with where it was written. */
export interface MergedPolicy {
  loadBalancer?: Located<LoadBalancerSpec>;
  connectionPool?: Located<ConnectionPoolSpec>;
  outlierDetection?: Located<OutlierDetectionSpec>;
  tls?: Located<unknown>;
}

/** A problem found while translating a sub-policy: relative path and issue code. */
class PolicyProblem extends Error {
  constructor(readonly code: ConfigIssueCode, readonly field: PathSegment[], message: string) {
    super(message);
  }
}

/** One level after GetPortLevelTrafficPolicy: the port entry alone, or the top level. */
function levelFor(policy: TrafficPolicySpec, ref: DocumentRef, path: PathSegment[], port: number): { selected: MergedPolicy; portLevel: boolean } {
  const selected: Record<string, Located<unknown>> = {};
  const i = (policy.portLevelSettings ?? []).findIndex((p) => p.port?.number === port);
  const source = i >= 0 ? policy.portLevelSettings![i]! : policy;
  const base = i >= 0 ? [...path, 'portLevelSettings', i] : path;
  for (const key of SUB_POLICIES) {
    const value = (source as Record<string, unknown>)[key];
    if (value !== undefined) selected[key] = { value, ref, path: [...base, key] };
  }
  return { selected: selected as MergedPolicy, portLevel: i >= 0 };
}

/** The merged sub-policies of the cluster of `port` (and `subset`, when not null); see the top of this file. */
export function mergeTrafficPolicy(service: LocatedPolicy | null, subset: SubsetInfo | null, port: number): MergedPolicy {
  const merged: MergedPolicy = service === null ? {} : levelFor(service.policy, service.ref, service.path, port).selected;
  if (subset?.trafficPolicy === undefined) return merged;
  const { selected, portLevel } = levelFor(subset.trafficPolicy, subset.ref, [...subset.path, 'trafficPolicy'], port);
  for (const key of SUB_POLICIES) {
    if (selected[key] !== undefined || portLevel) (merged as Record<string, unknown>)[key] = selected[key];
  }
  for (const key of SUB_POLICIES) if ((merged as Record<string, unknown>)[key] === undefined) delete (merged as Record<string, unknown>)[key];
  return merged;
}

function ms(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const d = parseDuration(text);
  return d.ok ? d.ms : fallback; // the schema reported a bad duration already
}

function lbOf(lb: LoadBalancerSpec | undefined): { lb: LbPolicy; hash: HashLbDescriptor | null } {
  if (lb === undefined) return { lb: ISTIO_DEFAULT_LB, hash: null };
  if (lb.simple !== undefined && lb.consistentHash !== undefined) {
    throw new PolicyProblem('invalid_value', ['consistentHash'], 'simple and consistentHash cannot both be set (the load balancer is one of them)');
  }
  if (lb.consistentHash !== undefined) {
    try {
      return { lb: 'CONSISTENT_HASH', hash: consistentHashFromIstio(lb.consistentHash, 'loadBalancer') };
    } catch (e) {
      if (!(e instanceof HashLbError)) throw e;
      throw new PolicyProblem('invalid_value', e.field.split('.'), e.message);
    }
  }
  switch (lb.simple) {
    case 'ROUND_ROBIN':
    case 'RANDOM':
    case 'PASSTHROUGH':
      return { lb: lb.simple, hash: null };
    default:
      // UNSPECIFIED, LEAST_REQUEST, LEAST_CONN (its deprecated alias), or unset.
      return { lb: 'LEAST_REQUEST', hash: null };
  }
}

function connectionOf(cp: ConnectionPoolSpec | undefined): ConnectionSettings {
  const connectTimeoutMs = ms(cp?.tcp?.connectTimeout, ISTIO_CONNECT_TIMEOUT_MS);
  if (cp?.tcp?.connectTimeout !== undefined && connectTimeoutMs < 1) throw new PolicyProblem('invalid_duration', ['tcp', 'connectTimeout'], 'connectTimeout must be at least 1ms');
  const ka = cp?.tcp?.tcpKeepalive;
  return {
    connectTimeoutMs,
    idleTimeoutMs: ms(cp?.http?.idleTimeout, ENVOY_IDLE_TIMEOUT_MS),
    tcpKeepalive: ka === undefined ? null : {
      timeMs: ms(ka.time, LINUX_KEEPALIVE.timeMs),
      intervalMs: ms(ka.interval, LINUX_KEEPALIVE.intervalMs),
      probes: ka.probes || LINUX_KEEPALIVE.probes,
    },
    ...(cp?.http?.h2UpgradePolicy === 'UPGRADE' ? { h2Upgrade: true } : {}),
    ...(cp?.http?.maxConcurrentStreams !== undefined && cp.http.maxConcurrentStreams > 0 ? { maxConcurrentStreams: cp.http.maxConcurrentStreams } : {}),
  };
}

function outlierOf(od: OutlierDetectionSpec | undefined): ClusterPolicy['outlier'] {
  try {
    return outlierSettingsFromIstio(od, 'outlierDetection');
  } catch (e) {
    if (!(e instanceof IstioPolicyError)) throw e;
    // The message names the field (`outlierDetection.interval: ...`).
    const field = /^outlierDetection\.(\w+)/.exec(e.message)?.[1];
    throw new PolicyProblem('invalid_value', field === undefined ? [] : [field], e.message);
  }
}

/** The default policy: a cluster no DestinationRule speaks about. */
export function defaultClusterPolicy(): { lb: LbPolicy; policy: ClusterPolicy } {
  return clusterPolicyOf({});
}

/**
 * Translates merged sub-policies. Problems were reported by validateTrafficPolicies (once
 * per rule, not once per cluster): here a sub-policy that does not translate falls back to
 * its default, and the load fails on the issue already recorded.
 */
export function clusterPolicyOf(merged: MergedPolicy): { lb: LbPolicy; policy: ClusterPolicy } {
  const attempt = <T>(f: () => T, fallback: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof PolicyProblem) return fallback();
      throw e;
    }
  };
  const lb = attempt(() => lbOf(merged.loadBalancer?.value), () => lbOf(undefined));
  const cp = merged.connectionPool?.value;
  return {
    lb: lb.lb,
    policy: {
      connection: attempt(() => connectionOf(cp), () => connectionOf(undefined)),
      limits: circuitBreakerLimitsFromIstio(cp),
      outlier: attempt(() => outlierOf(merged.outlierDetection?.value), () => null),
      hash: lb.hash,
    },
  };
}

/** Fields Istio defines that the data path does not act on yet, per sub-policy. */
const UNSERVED: Record<string, string[]> = {
  loadBalancer: ['localityLbSetting', 'warmupDurationSecs', 'warmup'],
  tcp: ['maxConnectionDuration', 'idleTimeout'],
  http: ['useClientProtocol', 'http2KeepAlive'],
  outlierDetection: ['outlierDetectionHttpErrorCodes'],
};

function checkLevel(level: Omit<TrafficPolicySpec, 'portLevelSettings'>, ref: DocumentRef, path: PathSegment[], gate: SecurityGate): void {
  const { issues, warnings } = gate;
  const report = (sub: string, f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof PolicyProblem)) throw e;
      issues.push(issueAt(ref, e.code, [...path, sub, ...e.field], e.message));
    }
  };
  const lb = level.loadBalancer;
  if (lb !== undefined) {
    report('loadBalancer', () => {
      const { hash } = lbOf(lb);
      for (const w of hash?.warnings ?? []) warnings.push(warningAt(ref, [...path, 'loadBalancer', 'consistentHash'], w.replace(/^loadBalancer: /, '')));
    });
    if (lb.simple === 'LEAST_CONN') warnings.push(warningAt(ref, [...path, 'loadBalancer', 'simple'], 'LEAST_CONN is deprecated: it is LEAST_REQUEST'));
    for (const f of UNSERVED['loadBalancer']!) if ((lb as Record<string, unknown>)[f] !== undefined) warnings.push(warningAt(ref, [...path, 'loadBalancer', f], 'is not served yet'));
  }
  const cp = level.connectionPool;
  if (cp !== undefined) {
    report('connectionPool', () => connectionOf(cp));
    for (const part of ['tcp', 'http'] as const) {
      for (const f of UNSERVED[part]!) {
        if ((cp[part] as Record<string, unknown> | undefined)?.[f] !== undefined) warnings.push(warningAt(ref, [...path, 'connectionPool', part, f], 'is not served yet'));
      }
    }
  }
  const od = level.outlierDetection;
  if (od !== undefined) {
    report('outlierDetection', () => outlierOf(od));
    if (od.consecutiveErrors !== undefined) {
      warnings.push(warningAt(ref, [...path, 'outlierDetection', 'consecutiveErrors'], 'is deprecated and ignored (as current Istio ignores it): consecutive5xxErrors applies, default 5'));
    }
    for (const f of UNSERVED['outlierDetection']!) if ((od as Record<string, unknown>)[f] !== undefined) warnings.push(warningAt(ref, [...path, 'outlierDetection', f], 'is not served yet'));
  }
  if (level.tls !== undefined) checkClientTls(level.tls, ref, [...path, 'tls'], gate);
  for (const f of ['tunnel', 'proxyProtocol', 'retryBudget'] as const) {
    if ((level as Record<string, unknown>)[f] !== undefined) warnings.push(warningAt(ref, [...path, f], 'is not served yet'));
  }
}

function checkPolicy(policy: TrafficPolicySpec | undefined, ref: DocumentRef, path: PathSegment[], gate: SecurityGate): void {
  if (policy === undefined) return;
  const { issues } = gate;
  checkLevel(policy, ref, path, gate);
  const seen = new Set<number>();
  (policy.portLevelSettings ?? []).forEach((p, i) => {
    const pp = [...path, 'portLevelSettings', i];
    if (p.port?.number === undefined) issues.push(issueAt(ref, 'missing_field', [...pp, 'port'], 'a port-level setting needs port.number'));
    else if (seen.has(p.port.number)) issues.push(issueAt(ref, 'invalid_value', [...pp, 'port', 'number'], `port ${p.port.number} already has port-level settings in this trafficPolicy`));
    else seen.add(p.port.number);
    checkLevel(p, ref, pp, gate);
  });
}

/**
 * Istio's validation of a DestinationRule's traffic policies at every level, once per rule;
 * `tls` at any level goes through checkClientTls (security-checks.ts).
 */
export function validateTrafficPolicies(rule: SourcedResource, gate: SecurityGate): void {
  const spec = rule.resource.spec as DestinationRuleSpec;
  checkPolicy(spec.trafficPolicy, rule.ref, ['spec', 'trafficPolicy'], gate);
  (spec.subsets ?? []).forEach((s, i) => checkPolicy(s.trafficPolicy, rule.ref, ['spec', 'subsets', i, 'trafficPolicy'], gate));
}
