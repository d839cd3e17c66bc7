// A config version's AuthorizationPolicy enforcement on one server: the policies compiled
// (refused with a located AuthzCompileError) and loaded into the core (checked once), and the
// filter over them. Null when the proxy has no policy: nothing runs per request then.
import { extAuthzChecks } from '../upstream/ext-authz/ext-authz-checks.js';
import type { ExtAuthzProvider } from '../model/mesh-settings.js';
import type { Cluster } from '../model/mesh.js';
import type { Core } from '../core/wasm.js';
import { AuthzTable } from '../core/authz/authz-table.js';
import { compileAuthorization } from '../compile/authorization.js';
import type { AuthzPolicy } from '../model/authorization.js';
import type { HttpFilter } from '../http/filter.js';
import type { StreamCallbacks } from '../http/stream-callbacks.js';
import { authorizationFilter } from '../http/filters/authorization.js';
import type { FilterDeps } from './http-filters.js';

export interface AuthorizationVersion {
  readonly filter: HttpFilter;
  release(): void;
}

/**
 * The port an authority names (`host:8080`, `[::1]:8080`), or -1 when it names none or a bad
 * one; read in place, without allocating.
 */
export function authorityPort(authority: string): number {
  let v = 0;
  let mul = 1;
  for (let i = authority.length - 1; i >= 0; i--) {
    const c = authority.charCodeAt(i);
    if (c === 0x3a) {
      if (mul === 1 || v > 65535) return -1;
      // A colon inside an unbracketed IPv6 literal is not a port separator.
      const before = authority.charCodeAt(i - 1);
      if (authority.indexOf(':') !== i && before !== 0x5d) return -1;
      return v;
    }
    if (c < 0x30 || c > 0x39 || mul > 10000) return -1;
    v += (c - 0x30) * mul;
    mul *= 10;
  }
  return -1;
}

/**
 * destination.port of a request: on a sidecar's inbound listener, the app port the request goes
 * to (the authority's port when it is one of `appPorts`, else the first: host/sidecar/inbound-mesh.ts
 * routes so, standing in for the original destination Istio reads); elsewhere the listener's port.
 */
export function destinationPortFor(appPorts: readonly number[] | undefined, listenerPort: () => number): (stream: StreamCallbacks) => number {
  if (appPorts === undefined || appPorts.length === 0) return () => listenerPort();
  const first = appPorts[0]!;
  if (appPorts.length === 1) return () => first;
  return (stream) => {
    const p = authorityPort(stream.downstream.authority);
    return p >= 0 && appPorts.includes(p) ? p : first;
  };
}

/**
 * Compiles and loads `policies` for `version`; null when there are none. Throws on a bad policy set.
 * CUSTOM policies ask `deps.extAuthz` when the server was given one (tests), else the version's own
 * checkers, one per extension provider the policies name (`providers`, reached through `clusters`:
 * host/upstream/ext-authz/), closed with the version.
 */
export function loadAuthorization(
  core: Core,
  policies: readonly AuthzPolicy[] | undefined,
  version: number,
  deps: FilterDeps,
  appPorts: readonly number[] | undefined,
  providers: { readonly list: readonly ExtAuthzProvider[]; readonly clusters: readonly Cluster[] } = { list: [], clusters: [] },
): AuthorizationVersion | null {
  if (policies === undefined || policies.length === 0) return null;
  const compiled = compileAuthorization(policies);
  const table = AuthzTable.load(core, compiled, version);
  const checks = deps.extAuthz === undefined && providers.list.length > 0 ? extAuthzChecks({ extAuthzProviders: providers.list }, providers.clusters) : null;
  const filter = authorizationFilter(table, compiled, {
    stats: deps.stats,
    extAuthz: deps.extAuthz ?? ((name) => checks?.get(name) ?? null),
    log: deps.operationalLog,
    destinationPort: destinationPortFor(appPorts, deps.listenerPort),
  });
  return {
    filter,
    release: () => {
      table.release();
      for (const c of checks?.values() ?? []) c.close();
    },
  };
}
