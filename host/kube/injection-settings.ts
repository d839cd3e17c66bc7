// What one pod's injection is made of: the injector's defaults (image, control plane address,
// the mesh config's `defaultConfig`) overridden by the pod's own annotations, as Istio's injector
// reads them — `sidecar.istio.io/interceptionMode`, the `traffic.sidecar.istio.io/*` capture
// ranges and ports, and `proxy.istio.io/config` (a ProxyConfig in YAML or JSON). Every value is
// checked here, so a bad annotation is an error naming it rather than an init container that
// fails in the cluster.
import { parse } from 'yaml';
import { parseDuration } from '../common/duration.js';

export type InterceptionMode = 'REDIRECT' | 'TPROXY';

/** The injector's defaults: flags of `wasmesh kube-inject` and the mesh config's defaultConfig. */
export interface InjectDefaults {
  /** The sidecar image, for both the init and the proxy container. */
  image: string;
  /** The control plane (xDS and CA) address: Istio's discoveryAddress. */
  discoveryAddress: string;
  interceptionMode: InterceptionMode;
  holdApplicationUntilProxyStarts: boolean;
  /**
   * Inject istio-proxy as a Kubernetes native sidecar (an init container with `restartPolicy:
   * Always`, Kubernetes >= 1.29): istiod's ENABLE_NATIVE_SIDECARS, resolved (host/kube/native-sidecars.ts).
   */
  nativeSidecars: boolean;
  /** The mesh config's defaultConfig.proxyMetadata: env of the proxy container. */
  proxyMetadata: Record<string, string>;
  trustDomain: string;
  clusterId: string;
  /** The mesh config's defaultConfig, kept for the PROXY_CONFIG env as Istio hands it over. */
  proxyConfig: Record<string, unknown>;
}

export const DEFAULT_DISCOVERY_ADDRESS = 'istiod.istio-system.svc:15012';

export function defaultInjectDefaults(image: string): InjectDefaults {
  return {
    image,
    discoveryAddress: DEFAULT_DISCOVERY_ADDRESS,
    interceptionMode: 'REDIRECT',
    holdApplicationUntilProxyStarts: false,
    nativeSidecars: false,
    proxyMetadata: {},
    trustDomain: 'cluster.local',
    clusterId: 'Kubernetes',
    proxyConfig: {},
  };
}

/** One pod's resolved settings. Lists stay as the comma-separated text istio-iptables takes. */
export interface PodInjectSettings {
  interceptionMode: InterceptionMode;
  includeOutboundIPRanges: string;
  excludeOutboundIPRanges: string;
  /** `*`, a port list, or '' (no inbound capture); undefined: the containers' TCP ports. */
  includeInboundPorts: string | undefined;
  excludeInboundPorts: string;
  excludeOutboundPorts: string;
  holdApplicationUntilProxyStarts: boolean;
  /** istio-proxy as a native sidecar (`sidecar.istio.io/nativeSidecar`, else the injector's default). */
  nativeSidecar: boolean;
  /**
   * ProxyConfig terminationDrainDuration in whole seconds (Istio's default 5 s): how long the
   * sidecar drains on SIGTERM; handed to it as TERMINATION_DRAIN_DURATION_SECONDS.
   */
  terminationDrainSeconds: number;
  discoveryAddress: string;
  proxyMetadata: Record<string, string>;
  /** The effective ProxyConfig (mesh defaults merged with the pod's annotation). */
  proxyConfig: Record<string, unknown>;
}

export const A_INJECT = 'sidecar.istio.io/inject';
export const A_STATUS = 'sidecar.istio.io/status';
export const A_INTERCEPTION = 'sidecar.istio.io/interceptionMode';
export const A_PROXY_CONFIG = 'proxy.istio.io/config';
export const A_NATIVE_SIDECAR = 'sidecar.istio.io/nativeSidecar';
/** Istio's ProxyConfig terminationDrainDuration default. */
export const DEFAULT_TERMINATION_DRAIN_SECONDS = 5;
export const A_INCLUDE_OUT_RANGES = 'traffic.sidecar.istio.io/includeOutboundIPRanges';
export const A_EXCLUDE_OUT_RANGES = 'traffic.sidecar.istio.io/excludeOutboundIPRanges';
export const A_INCLUDE_IN_PORTS = 'traffic.sidecar.istio.io/includeInboundPorts';
export const A_EXCLUDE_IN_PORTS = 'traffic.sidecar.istio.io/excludeInboundPorts';
export const A_EXCLUDE_OUT_PORTS = 'traffic.sidecar.istio.io/excludeOutboundPorts';

/** A setting that cannot be used: `where` names the annotation (or mesh config field). */
export class InjectSettingError extends Error {
  constructor(readonly where: string, why: string) {
    super(why);
    this.name = 'InjectSettingError';
  }
}

/** The mesh config file (`--meshConfig`): Istio's MeshConfig YAML; defaultConfig and trustDomain are read. */
export function meshConfigDefaults(text: string, base: InjectDefaults): InjectDefaults {
  let mesh: unknown;
  try {
    mesh = parse(text);
  } catch (err) {
    throw new InjectSettingError('mesh config', `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (mesh === null || mesh === undefined) return base;
  if (typeof mesh !== 'object' || Array.isArray(mesh)) throw new InjectSettingError('mesh config', 'must be a MeshConfig object');
  const m = mesh as Record<string, unknown>;
  const out = { ...base };
  if (m.trustDomain !== undefined) {
    if (typeof m.trustDomain !== 'string' || m.trustDomain === '') throw new InjectSettingError('mesh config trustDomain', 'must be a non-empty string');
    out.trustDomain = m.trustDomain;
  }
  if (m.defaultConfig !== undefined) {
    const pc = proxyConfigObject(m.defaultConfig, 'mesh config defaultConfig');
    drainSeconds(pc.terminationDrainDuration, 'mesh config defaultConfig terminationDrainDuration');
    Object.assign(out, applyProxyConfig(pc, 'mesh config defaultConfig', out));
    out.proxyConfig = { ...base.proxyConfig, ...pc };
  }
  return out;
}

/** Resolves a pod's settings from the defaults and its annotations. */
export function podInjectSettings(annotations: Record<string, unknown>, defaults: InjectDefaults): PodInjectSettings {
  const text = (name: string): string | undefined => {
    const v = annotations[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new InjectSettingError(annotationPath(name), 'an annotation value must be a string (quote it)');
    return v;
  };
  let proxyConfig = { ...defaults.proxyConfig };
  let resolved: Partial<InjectDefaults> = {};
  let drainWhere = 'mesh config defaultConfig terminationDrainDuration';
  const pcText = text(A_PROXY_CONFIG);
  if (pcText !== undefined) {
    let pc: unknown;
    try {
      pc = parse(pcText);
    } catch (err) {
      throw new InjectSettingError(annotationPath(A_PROXY_CONFIG), `not a ProxyConfig in YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
    }
    const obj = proxyConfigObject(pc, annotationPath(A_PROXY_CONFIG));
    if (obj.terminationDrainDuration !== undefined) drainWhere = `${annotationPath(A_PROXY_CONFIG)} terminationDrainDuration`;
    resolved = applyProxyConfig(obj, annotationPath(A_PROXY_CONFIG), defaults);
    proxyConfig = { ...proxyConfig, ...obj };
  }
  let interceptionMode = resolved.interceptionMode ?? defaults.interceptionMode;
  const mode = text(A_INTERCEPTION);
  if (mode !== undefined) interceptionMode = interceptionModeOf(mode, annotationPath(A_INTERCEPTION));
  const native = text(A_NATIVE_SIDECAR);
  if (native !== undefined && native !== 'true' && native !== 'false') throw new InjectSettingError(annotationPath(A_NATIVE_SIDECAR), `must be "true" or "false", got ${JSON.stringify(native)}`);
  return {
    interceptionMode,
    includeOutboundIPRanges: cidrList(text(A_INCLUDE_OUT_RANGES) ?? '*', A_INCLUDE_OUT_RANGES, true),
    excludeOutboundIPRanges: cidrList(text(A_EXCLUDE_OUT_RANGES) ?? '', A_EXCLUDE_OUT_RANGES, false),
    includeInboundPorts: (() => {
      const v = text(A_INCLUDE_IN_PORTS);
      return v === undefined ? undefined : portList(v, A_INCLUDE_IN_PORTS, true);
    })(),
    excludeInboundPorts: portList(text(A_EXCLUDE_IN_PORTS) ?? '', A_EXCLUDE_IN_PORTS, false),
    excludeOutboundPorts: portList(text(A_EXCLUDE_OUT_PORTS) ?? '', A_EXCLUDE_OUT_PORTS, false),
    holdApplicationUntilProxyStarts: resolved.holdApplicationUntilProxyStarts ?? defaults.holdApplicationUntilProxyStarts,
    nativeSidecar: native === undefined ? defaults.nativeSidecars : native === 'true',
    terminationDrainSeconds: drainSeconds(proxyConfig.terminationDrainDuration, drainWhere),
    discoveryAddress: resolved.discoveryAddress ?? defaults.discoveryAddress,
    proxyMetadata: { ...defaults.proxyMetadata, ...(resolved.proxyMetadata ?? {}) },
    proxyConfig,
  };
}

export function annotationPath(name: string): string {
  return `metadata.annotations["${name}"]`;
}

function proxyConfigObject(value: unknown, where: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InjectSettingError(where, 'must be a ProxyConfig object');
  return value as Record<string, unknown>;
}

/** The ProxyConfig fields the injection uses; other fields are only passed on (PROXY_CONFIG). */
function applyProxyConfig(pc: Record<string, unknown>, where: string, base: InjectDefaults): Partial<InjectDefaults> {
  const out: Partial<InjectDefaults> = {};
  if (pc.holdApplicationUntilProxyStarts !== undefined) {
    if (typeof pc.holdApplicationUntilProxyStarts !== 'boolean') throw new InjectSettingError(`${where} holdApplicationUntilProxyStarts`, 'must be true or false');
    out.holdApplicationUntilProxyStarts = pc.holdApplicationUntilProxyStarts;
  }
  if (pc.discoveryAddress !== undefined) {
    if (typeof pc.discoveryAddress !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(pc.discoveryAddress)) {
      throw new InjectSettingError(`${where} discoveryAddress`, `must be host:port, got ${JSON.stringify(pc.discoveryAddress)}`);
    }
    out.discoveryAddress = pc.discoveryAddress;
  }
  if (pc.interceptionMode !== undefined) out.interceptionMode = interceptionModeOf(pc.interceptionMode, `${where} interceptionMode`);
  if (pc.proxyMetadata !== undefined) {
    const md = proxyConfigObject(pc.proxyMetadata, `${where} proxyMetadata`);
    const meta: Record<string, string> = { ...base.proxyMetadata };
    for (const [k, v] of Object.entries(md)) {
      if (typeof v !== 'string') throw new InjectSettingError(`${where} proxyMetadata.${k}`, 'must be a string');
      meta[k] = v;
    }
    out.proxyMetadata = meta;
  }
  return out;
}

/**
 * A ProxyConfig Duration (`5s`, `1.5s`, `1m30s`, `500ms`, as protobuf JSON or Go duration text)
 * in whole seconds, rounded up; absent: Istio's 5 s.
 */
function drainSeconds(value: unknown, where: string): number {
  if (value === undefined || value === null) return DEFAULT_TERMINATION_DRAIN_SECONDS;
  const d = typeof value === 'string' ? parseDuration(value.trim()) : null;
  if (d === null || !d.ok) throw new InjectSettingError(where, `must be a duration such as "5s" or "1m30s", got ${JSON.stringify(value)}`);
  return Math.ceil(d.ms / 1000);
}

function interceptionModeOf(value: unknown, where: string): InterceptionMode {
  if (value === 'REDIRECT' || value === 'TPROXY') return value;
  throw new InjectSettingError(where, `interception mode must be REDIRECT or TPROXY, got ${JSON.stringify(value)} (NONE is not supported)`);
}

function items(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** A comma-separated port list (1..65535), or `*` alone when allowed; normalised (no blanks). */
function portList(text: string, name: string, allowStar: boolean): string {
  const list = items(text);
  if (allowStar && list.length === 1 && list[0] === '*') return '*';
  for (const p of list) {
    if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) {
      throw new InjectSettingError(annotationPath(name), `"${p}" is not a port (1-65535)${allowStar ? " or a lone '*'" : ''}`);
    }
  }
  return list.map(Number).join(',');
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;
const IPV6_CIDR = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(?:\/\d{1,3})?$/;

/** A comma-separated list of IPv4/IPv6 ranges, or `*` alone when allowed. */
function cidrList(text: string, name: string, allowStar: boolean): string {
  const list = items(text);
  if (allowStar && list.length === 1 && list[0] === '*') return '*';
  for (const c of list) {
    const m = IPV4_CIDR.exec(c);
    const v4 = m !== null && [1, 2, 3, 4].every((i) => Number(m[i]) <= 255) && (m[5] === undefined || Number(m[5]) <= 32);
    const v6 = !v4 && IPV6_CIDR.test(c) && (!c.includes('/') || Number(c.split('/')[1]) <= 128);
    if (!v4 && !v6) throw new InjectSettingError(annotationPath(name), `"${c}" is not an IP address or range (a.b.c.d/n)${allowStar ? " or a lone '*'" : ''}`);
  }
  return list.join(',');
}
