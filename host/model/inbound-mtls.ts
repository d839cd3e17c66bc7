// Which mutual TLS a workload's inbound ports require, from the PeerAuthentication policies, as
// Istio composes them (pilot's ComposePeerAuthentication): a mesh policy (root namespace, no
// selector), a namespace policy (the workload's namespace, no selector) and a workload policy
// (the workload's namespace, a selector matching its labels), each level's mode taken when not
// UNSET, the more specific level winning; a workload policy's portLevelMtls overrides per port,
// UNSET there inheriting the workload's mode. Nothing set anywhere: PERMISSIVE. Several policies
// at one level: the first in load order wins (Istio takes the oldest). portLevelMtls outside a
// workload policy is ignored, as Istio ignores it.

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';
export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

/** Istio's default root namespace (meshConfig.rootNamespace). */
export const DEFAULT_ROOT_NAMESPACE = 'istio-system';

/** One PeerAuthentication as the composition reads it (in load order). */
export interface PeerAuthenticationPolicy {
  readonly namespace: string;
  readonly name: string;
  /** selector.matchLabels; null or empty: the policy applies to the whole namespace (or mesh). */
  readonly selector: Readonly<Record<string, string>> | null;
  readonly mode: MtlsMode;
  /** portLevelMtls, by workload port. */
  readonly portLevel: ReadonlyMap<number, MtlsMode>;
}

export interface InboundWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** What a workload's inbound requires: one mode, and the ports where a workload policy says otherwise. */
export interface InboundMtls {
  readonly mode: EffectiveMtlsMode;
  readonly ports: ReadonlyMap<number, EffectiveMtlsMode>;
  /** The policies that decided (namespace/name per level), for messages. */
  readonly from: { readonly mesh: string | null; readonly namespace: string | null; readonly workload: string | null };
}

const hasSelector = (p: PeerAuthenticationPolicy): boolean => p.selector !== null && Object.keys(p.selector).length > 0;

function selects(p: PeerAuthenticationPolicy, w: InboundWorkload): boolean {
  return Object.entries(p.selector ?? {}).every(([k, v]) => w.labels[k] === v);
}

export function inboundMtls(policies: readonly PeerAuthenticationPolicy[], workload: InboundWorkload, rootNamespace = DEFAULT_ROOT_NAMESPACE): InboundMtls {
  const mesh = policies.find((p) => p.namespace === rootNamespace && !hasSelector(p)) ?? null;
  // In the root namespace, the namespace policy is the mesh policy.
  const ns = policies.find((p) => p.namespace === workload.namespace && !hasSelector(p)) ?? null;
  const wl = policies.find((p) => p.namespace === workload.namespace && hasSelector(p) && selects(p, workload)) ?? null;
  let mode: EffectiveMtlsMode = 'PERMISSIVE';
  for (const level of [mesh, ns, wl]) if (level !== null && level.mode !== 'UNSET') mode = level.mode;
  const ports = new Map<number, EffectiveMtlsMode>();
  for (const [port, m] of wl?.portLevel ?? []) if (m !== 'UNSET' && m !== mode) ports.set(port, m);
  const id = (p: PeerAuthenticationPolicy | null): string | null => (p === null ? null : `${p.namespace}/${p.name}`);
  return { mode, ports, from: { mesh: id(mesh), namespace: id(ns), workload: id(wl) } };
}

/** The mode required on one inbound port. */
export function inboundPortMode(m: InboundMtls, port: number): EffectiveMtlsMode {
  return m.ports.get(port) ?? m.mode;
}

const STRICTNESS: Record<EffectiveMtlsMode, number> = { DISABLE: 0, PERMISSIVE: 1, STRICT: 2 };

/** The strictest mode of the workload and its ports (one listener serving every app port takes it). */
export function strictestMode(m: InboundMtls): EffectiveMtlsMode {
  let mode = m.mode;
  for (const p of m.ports.values()) if (STRICTNESS[p] > STRICTNESS[mode]) mode = p;
  return mode;
}
