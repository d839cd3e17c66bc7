// One Istio HTTPMatchRequest to the model's RouteMatch, for one proxy: conditions about the
// request become match fields (regexes compiled now, so a bad one is a located error), and
// conditions about the proxy itself — sourceLabels, sourceNamespace, gateways — are decided
// here, so a block that cannot apply to this proxy is dropped before it reaches the model.
import type { ConfigIssue } from '../config-error.js';
import type { HttpMatchRequest, StringMatchSpec } from '../istio-schemas.js';
import { issueAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import { checkRegex } from './regex-check.js';
import { claimHeader } from './claim-header.js';
import type { PathSegment } from '../yaml-source.js';
import type { HeaderMatch, QueryParamMatch, RouteMatch, StringMatch } from '../../model/mesh.js';

/** Which proxy the routes are built for: a named Gateway or the mesh's sidecars. */
export type Binding = { kind: 'gateway'; namespace: string; name: string } | { kind: 'mesh' };

/** The proxy the config is resolved for: what its source-side match conditions compare. */
export interface ProxyIdentity {
  namespace: string;
  /** Its workload labels (`--labels`); empty when none were given. */
  labels: Readonly<Record<string, string>>;
  binding: Binding;
}

/** `ns/name` of a gateway reference as Istio resolves it (`name`, `ns/name`, legacy `name.ns...`). */
export function resolveGatewayRef(ref: string, namespace: string): string {
  if (ref.includes('/')) return ref;
  if (ref.includes('.')) {
    const [name, ns] = ref.split('.');
    return `${ns}/${name}`;
  }
  return `${namespace}/${ref}`;
}

/**
 * Does match block `m` of a VirtualService in `vsNamespace` apply to `proxy`? Its `gateways`
 * (when set, they replace the VirtualService's for this block, as in Istio) must name the
 * proxy's binding; every `sourceLabels` pair must be among the proxy's labels; and
 * `sourceNamespace` must be the proxy's namespace.
 */
export function matchAppliesTo(m: HttpMatchRequest, proxy: ProxyIdentity, vsNamespace: string): boolean {
  if (m.gateways !== undefined && m.gateways.length > 0) {
    const here = m.gateways.some((g) =>
      g === 'mesh'
        ? proxy.binding.kind === 'mesh'
        : proxy.binding.kind === 'gateway' && resolveGatewayRef(g, vsNamespace) === `${proxy.binding.namespace}/${proxy.binding.name}`,
    );
    if (!here) return false;
  }
  for (const [k, v] of Object.entries(m.sourceLabels ?? {})) {
    if (proxy.labels[k] !== v) return false;
  }
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== proxy.namespace) return false;
  return true;
}

/**
 * A StringMatch to the model's, or null for an empty one `{}` (for uri, method, authority and
 * scheme Istio then sets no condition; for headers and query parameters it means "present").
 * A regex is compiled now; when it does not compile the issue is recorded and null returned.
 */
function toStringMatch(issues: ConfigIssue[], vs: SourcedResource, m: StringMatchSpec, path: PathSegment[]): StringMatch | null {
  if (m.regex !== undefined) {
    checkRegex(issues, vs.ref, [...path, 'regex'], m.regex);
    return { kind: 'regex', value: m.regex };
  }
  if (m.exact !== undefined) return { kind: 'exact', value: m.exact };
  if (m.prefix !== undefined) return { kind: 'prefix', value: m.prefix };
  return null;
}

/** The request conditions of one HTTPMatchRequest (the proxy-side ones are matchAppliesTo's). */
export function toRouteMatch(issues: ConfigIssue[], vs: SourcedResource, m: HttpMatchRequest, path: PathSegment[]): RouteMatch {
  const headers: HeaderMatch[] = [];
  const gateways = (vs.resource.spec as { gateways?: readonly string[] }).gateways ?? [];
  const forGateway = gateways.some((g) => g !== 'mesh');
  for (const [invert, map, key] of [
    [false, m.headers, 'headers'],
    [true, m.withoutHeaders, 'withoutHeaders'],
  ] as const) {
    for (const [name, sm] of Object.entries(map ?? {})) {
      if (name === '') issues.push(issueAt(vs.ref, 'invalid_value', [...path, key, name], 'a header name must not be empty'));
      const claim = claimHeader(name);
      if (claim.kind === 'bad') {
        issues.push(issueAt(vs.ref, 'invalid_value', [...path, key, name], claim.reason));
        continue;
      }
      const match = toStringMatch(issues, vs, sm, [...path, key, name]);
      if (claim.kind === 'header') {
        headers.push({ name: name.toLowerCase(), match, invert });
        continue;
      }
      // Istio's validation: claim routing only where a gateway's JWT filter runs before routing.
      if (!forGateway) {
        issues.push(issueAt(vs.ref, 'invalid_value', [...path, key, name], `JWT claim based routing (key: ${name}) is only supported for gateway, found no gateways: [${gateways.join(' ')}]`));
        continue;
      }
      // A claim is matched by value: Istio has no "present" form for it (its empty StringMatch
      // becomes a metadata matcher Envoy refuses), so `{}` is refused here.
      if (match === null) issues.push(issueAt(vs.ref, 'invalid_value', [...path, key, name], 'a JWT claim match needs exact, prefix or regex'));
      else headers.push({ name, match, invert, claim: claim.path });
    }
  }
  const queryParams: QueryParamMatch[] = [];
  for (const [name, sm] of Object.entries(m.queryParams ?? {})) {
    if (name === '') issues.push(issueAt(vs.ref, 'invalid_value', [...path, 'queryParams', name], 'a query parameter name must not be empty'));
    // Names are compared as sent: case-sensitive, not percent-decoded (Envoy's matcher too).
    queryParams.push({ name, match: toStringMatch(issues, vs, sm, [...path, 'queryParams', name]) });
  }
  const field = (key: 'uri' | 'method' | 'authority' | 'scheme'): StringMatch | null =>
    m[key] === undefined ? null : toStringMatch(issues, vs, m[key], [...path, key]);
  return {
    uri: field('uri'),
    // Only uri comparisons fold case (Istio: ignoreUriCase applies to the uri match only).
    ignoreUriCase: m.ignoreUriCase ?? false,
    headers,
    method: field('method'),
    authority: field('authority'),
    scheme: field('scheme'),
    queryParams,
    port: m.port ?? null,
  };
}
