// The warning for a proxy whose config loaded but gives it nothing to serve: it names what was
// loaded and why none of it applies to this proxy (mesh mode with every VirtualService bound to
// a Gateway, a Gateway no VirtualService is bound to), so a proxy that answers every request
// 404 NR does not start, or reload into that state, without a word.
import type { MeshConfig } from '../model/mesh.js';
import { ALLOW_ANY_ROUTE, BLOCK_ALL_ROUTE } from '../model/catch-all.js';
import { resolveGatewayRef } from '../config/translate/match-builder.js';

/** Whose view of the config this is: the ConfigManager's load options. */
export interface ProxyView {
  gateway?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

/** What the warning reads of a load (host/config's LoadedConfig; resources as dumped). */
export interface LoadedView {
  resources: unknown;
  mesh: MeshConfig;
  files: readonly string[];
}

interface Resource {
  kind: string;
  namespace: string;
  name: string;
  spec: { gateways?: unknown; hosts?: unknown };
}

/** The resources as host/config dumps them; anything else (injected test loaders) reads as none. */
function resourcesOf(resources: unknown): Resource[] {
  if (!Array.isArray(resources)) return [];
  return resources.filter(
    (r): r is Resource =>
      r !== null && typeof r === 'object' && typeof r.kind === 'string' && typeof r.namespace === 'string' && typeof r.name === 'string' && typeof r.spec === 'object' && r.spec !== null,
  );
}

function gatewaysOf(vs: Resource): string[] {
  return Array.isArray(vs.spec.gateways) ? vs.spec.gateways.filter((g): g is string => typeof g === 'string') : [];
}

/** `1 Gateway, 2 VirtualServices` in load order of first appearance. */
function kindCounts(resources: readonly Resource[]): string {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} ${n === 1 ? kind : /[^aeiou]y$/.test(kind) ? `${kind.slice(0, -1)}ies` : `${kind}s`}`).join(', ');
}

const ref = (r: Resource) => `${r.namespace}/${r.name}`;

/**
 * null when the proxy has at least one route; otherwise one warning saying what was loaded and
 * why nothing of it is this proxy's.
 */
export function servesNothingWarning(loaded: LoadedView, view: ProxyView): string | null {
  // A sidecar's catch-all for unknown hosts (allow_any, block_all) is no mesh host of its own.
  if (loaded.mesh.virtualHosts.some((vh) => vh.routes.length > 0 && vh.name !== ALLOW_ANY_ROUTE && vh.name !== BLOCK_ALL_ROUTE)) return null;
  const resources = resourcesOf(loaded.resources);
  const namespace = view.namespace ?? 'default';
  const virtualServices = resources.filter((r) => r.kind === 'VirtualService');
  const what = `loaded ${loaded.files.length} file(s)${resources.length > 0 ? `: ${kindCounts(resources)}` : ', no Istio resource in them'}`;
  const reasons: string[] = [];
  let who: string;
  if (view.gateway !== undefined) {
    const wanted = view.gateway.includes('/') ? view.gateway : `${namespace}/${view.gateway}`;
    who = `as Gateway ${wanted} (--gateway)`;
    const gateways = resources.filter((r) => r.kind === 'Gateway');
    if (!gateways.some((g) => ref(g) === wanted)) {
      reasons.push(`no Gateway ${wanted} is loaded (${gateways.length === 0 ? 'none is' : `loaded: ${gateways.map(ref).join(', ')}`})`);
    } else {
      const bound = virtualServices.filter((vs) => gatewaysOf(vs).some((g) => g !== 'mesh' && resolveGatewayRef(g, vs.namespace) === wanted));
      if (bound.length > 0) {
        reasons.push(`VirtualServices bound to it: ${bound.map(ref).join(', ')}, but none of their hosts is served by its HTTP servers (see the warnings above)`);
      } else {
        const others = virtualServices.map((vs) => `${ref(vs)} (${gatewaysOf(vs).length === 0 ? 'mesh' : gatewaysOf(vs).join(', ')})`);
        reasons.push(`no VirtualService is bound to it${others.length > 0 ? `; the VirtualServices loaded are bound elsewhere: ${others.join(', ')}` : ''}`);
      }
    }
  } else {
    const labels = Object.entries(view.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    who = `in mesh mode (no --gateway; namespace ${namespace}, labels ${labels === '' ? 'none' : labels})`;
    // Istio: a VirtualService with no `gateways` applies to the mesh, as does one naming `mesh`.
    const forMesh = virtualServices.filter((vs) => gatewaysOf(vs).length === 0 || gatewaysOf(vs).includes('mesh'));
    const gatewayOnly = virtualServices.filter((vs) => !forMesh.includes(vs));
    if (gatewayOnly.length > 0) {
      const names = [...new Set(gatewayOnly.flatMap(gatewaysOf))];
      reasons.push(
        `every VirtualService bound to a Gateway is served by a proxy run with --gateway (${gatewayOnly.map((vs) => `${ref(vs)} → ${gatewaysOf(vs).join(', ')}`).join('; ')}): ` +
          `run with --gateway ${names[0]}${names.length > 1 ? ' (or another of them)' : ''} to serve ${gatewayOnly.length === 1 ? 'it' : 'them'}`,
      );
    }
    if (forMesh.length > 0) {
      reasons.push(`no rule of the mesh's VirtualServices (${forMesh.map(ref).join(', ')}) applies to this proxy: check their hosts, sourceLabels, sourceNamespace and per-match gateways`);
    }
    if (virtualServices.length === 0) reasons.push('no VirtualService is loaded');
    if (!resources.some((r) => r.kind === 'ServiceEntry')) reasons.push('no ServiceEntry defines a host to forward to');
  }
  return `this proxy serves nothing ${who}: every request will ${answer(loaded.mesh, view)}. It ${what}; ${reasons.join('; ')}.`;
}

/** What a proxy without routes does with every request: a gateway 404, a sidecar its outboundTrafficPolicy. */
function answer(mesh: MeshConfig, view: ProxyView): string {
  if (view.gateway !== undefined || !mesh.virtualHosts.some((vh) => vh.name === ALLOW_ANY_ROUTE || vh.name === BLOCK_ALL_ROUTE)) return 'get 404 (NR)';
  return mesh.outboundTrafficPolicy === 'REGISTRY_ONLY' ? 'get 502 (outboundTrafficPolicy REGISTRY_ONLY, route block_all)' : 'pass through to the address its authority names (outboundTrafficPolicy ALLOW_ANY, PassthroughCluster)';
}
