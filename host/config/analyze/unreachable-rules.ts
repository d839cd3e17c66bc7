// Istio's VirtualService validation warnings that `istioctl analyze` reports under their own codes
// (pkg/config/validation: analyzeUnreachableHTTPRules/TCP/TLS, through the schema analyzer):
// IST0130 VirtualServiceUnreachableRule — a rule after a rule without matches, or one whose every
// match an earlier rule already has — and IST0131 VirtualServiceIneffectiveMatch — a match equal
// to an earlier rule's (the match's `name` aside), or, for HTTP, a URI prefix match covered by an
// earlier rule's shorter prefix with the same port, method, authority, headers, query parameters
// and withoutHeaders (Istio's coveredValidation, its prefix comparisons as written there).
// Rules are named `"name"` when an HTTP rule has one, else `#index`; matches likewise.
import type { HttpMatchRequest, HttpRoute, StringMatchSpec, VirtualServiceSpec } from '../istio-schemas.js';
import type { AnalysisInput, AnalysisResource } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';

/** A canonical JSON form of a match (keys sorted, `name` dropped), for equality as Istio's asJSON. */
function canonical(value: unknown, dropName: boolean): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (typeof v !== 'object' || v === null) return v;
    return Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => [k, sort((v as Record<string, unknown>)[k])]));
  };
  const copy = { ...(value as Record<string, unknown>) };
  if (dropName) delete copy['name'];
  return JSON.stringify(sort(copy));
}

const quoted = (name: string | undefined, index: number): string => (name ? JSON.stringify(name) : `#${index}`);

interface Rule { name?: string; match?: readonly unknown[] }

interface Report { unreachable(rule: string, reason: string): void; ineffective(rule: string, match: string, dup: string): void }

/** The duplicate part, common to HTTP, TCP and TLS rules; calls `onNew` for each first-seen match. */
function unreachable(rules: readonly Rule[], http: boolean, report: Report, onNew?: (rule: number, match: number) => void): void {
  const seen = new Map<string, number>();
  let empty = -1;
  rules.forEach((rule, rulen) => {
    const name = quoted(http ? rule.name : undefined, rulen);
    const matches = rule.match ?? [];
    if (matches.length === 0) {
      if (empty >= 0) report.unreachable(name, 'only the last rule can have no matches');
      empty = rulen;
      return;
    }
    let duplicates = 0;
    matches.forEach((match, matchn) => {
      if (empty >= 0) {
        report.unreachable(name, 'route without matches defined before');
        return;
      }
      const key = canonical(match, http);
      const dup = seen.get(key);
      if (dup !== undefined) {
        report.ineffective(name, quoted(http ? (match as HttpMatchRequest).name : undefined, matchn), quoted(http ? rules[dup]!.name : undefined, dup));
        duplicates++;
        return;
      }
      seen.set(key, rulen);
      onNew?.(rulen, matchn);
    });
    if (duplicates === matches.length) report.unreachable(name, 'all matches used by prior rules');
  });
}

/** Istio's OverlappingMatchValidationForHTTPRoute: what a prefix-URI match is compared on. */
interface PrefixMatch { route: string; match: string; prefix: string; port: number; method: string; authority: string; headers: Map<string, string>; query: Map<string, string>; without: Map<string, string> }

const exactOrPrefix = (m: StringMatchSpec | undefined): string => (m?.exact ? `exact:${m.exact}` : m?.prefix ? `prefix:${m.prefix}` : '');

const stringMatches = (r: Record<string, StringMatchSpec> | undefined): Map<string, string> => new Map(Object.entries(r ?? {}).map(([k, v]) => [k, exactOrPrefix(v)]));

function prefixMatch(route: HttpRoute, rulen: number, match: HttpMatchRequest, matchn: number): PrefixMatch | null {
  const prefix = match.uri?.prefix;
  if (!prefix) return null;
  return {
    route: quoted(route.name, rulen),
    match: quoted(match.name, matchn),
    prefix,
    port: match.port ?? 0,
    method: exactOrPrefix(match.method) || 'exact:GET', // Istio: no method compares as GET
    authority: exactOrPrefix(match.authority),
    headers: stringMatches(match.headers),
    query: stringMatches(match.queryParams),
    without: stringMatches(match.withoutHeaders),
  };
}

/** Each of `a`'s entries is in `b`, equal or (as Istio compares) a's value starting with b's. */
function mapsCovered(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || (v !== w && !v.startsWith(w))) return false;
  }
  return true;
}

/** Istio's coveredValidation: `a` (earlier) leaves nothing for `b`. */
function covered(a: PrefixMatch, b: PrefixMatch): boolean {
  if (!b.prefix.startsWith(a.prefix) || a.port !== b.port) return false;
  if (a.method !== b.method && !a.method.startsWith(b.method)) return false;
  if (a.authority !== b.authority && !a.authority.startsWith(b.authority)) return false;
  return mapsCovered(a.headers, b.headers) && mapsCovered(a.query, b.query) && mapsCovered(a.without, b.without);
}

export function unreachableRuleMessages(input: AnalysisInput): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const r of ofKind(input, 'VirtualService')) {
    const vs = r.spec as VirtualServiceSpec;
    const report = reporter(r, out);
    const http = vs.http ?? [];
    const prefixes: PrefixMatch[] = [];
    unreachable(http, true, report, (rulen, matchn) => {
      const p = prefixMatch(http[rulen]!, rulen, http[rulen]!.match![matchn]!, matchn);
      if (p !== null) prefixes.push(p);
    });
    for (let i = 0; i < prefixes.length; i++) {
      for (let j = i + 1; j < prefixes.length; j++) {
        const a = prefixes[i]!;
        const b = prefixes[j]!;
        if (a.prefix === b.prefix) continue; // exact duplicates were reported above
        if (covered(a, b)) report.ineffective(b.route, `${b.match} of prefix ${b.prefix}`, `${a.match} of prefix ${a.prefix} on ${a.route}`);
      }
    }
    unreachable(vs.tcp ?? [], false, report);
    unreachable(vs.tls ?? [], false, report);
  }
  return out;
}

function reporter(r: AnalysisResource, out: AnalysisMessage[]): Report {
  return {
    unreachable: (rule, reason) => out.push(message(MESSAGES.VirtualServiceUnreachableRule, r.origin, null, rule, reason)),
    ineffective: (rule, match, dup) => out.push(message(MESSAGES.VirtualServiceIneffectiveMatch, r.origin, null, rule, match, dup)),
  };
}
