// The ext_authz checkers of a mesh: one per meshConfig extension provider of kind
// envoyExtAuthzHttp or envoyExtAuthzGrpc, by provider name, for the authorization filter's CUSTOM
// policies (AuthorizationPolicy provider.name). Each reaches its authorizer as ext-authz-target.ts says.
import type { ExtAuthzCheck } from '../../http/ext-authz-check.js';
import type { Cluster } from '../../model/mesh.js';
import type { MeshSettings } from '../../model/mesh-settings.js';
import { extAuthzTarget } from './ext-authz-target.js';
import { GrpcExtAuthzCheck } from './grpc-ext-authz.js';
import { HttpExtAuthzCheck } from './http-ext-authz.js';

export interface ClosableExtAuthzCheck extends ExtAuthzCheck {
  /** Drops the checker's connections (the config version it served was replaced). */
  close(): void;
}

export function extAuthzChecks(settings: Pick<MeshSettings, 'extAuthzProviders'>, clusters: readonly Cluster[]): Map<string, ClosableExtAuthzCheck> {
  const out = new Map<string, ClosableExtAuthzCheck>();
  for (const p of settings.extAuthzProviders) {
    const target = extAuthzTarget(p, clusters);
    out.set(p.name, p.kind === 'http' ? new HttpExtAuthzCheck(p, target) : new GrpcExtAuthzCheck(p, target));
  }
  return out;
}
