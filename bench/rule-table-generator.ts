// A synthetic API gateway for the rule-table benchmark: ONE virtual host with a long ordered
// list of HTTP rules mixing regex, header, method, query and port conditions (the shape of a
// large Istio VirtualService on an ingress gateway), so that a match scans up to every rule,
// as Envoy does within a virtual host, and runs their regexes.
import { noHeaderOps, type Cluster, type MeshConfig, type Route, type RouteMatch } from '../host/model/mesh.js';
import type { BenchRequest } from './mesh-generator.js';

/** The gateway's listener port: the port conditions and the table's listenerPort. */
export const GATEWAY_PORT = 8080;
export const GATEWAY_HOST = 'api.example.com';
/** Rule kinds, cycled by rule index (rule i has kind i % 5); see `ruleMatches`. */
export const RULE_KINDS = 5;

export interface RuleTable {
  mesh: MeshConfig;
  ruleCount: number;
  /** How many conditions of each kind the table holds, for the benchmark's description. */
  conditions: { total: number; regex: number; header: number };
  requests: {
    /** Hits rule 0 (uri regex + header exact). */
    early: BenchRequest;
    /** Hits the middle rule (a uri regex + header rule), after half the rules failed. */
    middle: BenchRequest;
    /** Hits the last rule (uri prefix + authority regex + port), after every other rule failed. */
    late: BenchRequest;
    /** A path shaped like the rules' (`/svc-N/...`) that no rule takes: every rule fails. */
    miss: BenchRequest;
  };
}

const exact = (value: string) => ({ kind: 'exact' as const, value });
const prefix = (value: string) => ({ kind: 'prefix' as const, value });
const regex = (value: string) => ({ kind: 'regex' as const, value });

/**
 * The match block of rule `i`; each kind puts its cheapest-to-refuse condition where Istio
 * users do. `withRegex` false swaps every regex for the nearest exact/prefix condition (same
 * shape and the same requests match), to show what the regexes themselves cost.
 */
function ruleMatches(i: number, withRegex: boolean): RouteMatch {
  const svc = `/svc-${i}`;
  switch (i % RULE_KINDS) {
    case 0: // versioned item API for one tenant: uri regex, then a header exact
      return {
        uri: withRegex ? regex(`^${svc}/v[0-9]+/items/[0-9]+$`) : prefix(`${svc}/v`),
        ignoreUriCase: false,
        headers: [{ name: 'x-tenant', match: exact(`tenant-${i}`), invert: false }],
      };
    case 1: // a user allow-list by header regex under a prefix
      return { uri: prefix(`${svc}/`), ignoreUriCase: false, headers: [{ name: 'x-user', match: withRegex ? regex(`^(alice|bob|carol)-[0-9]+$`) : prefix('alice-'), invert: false }] };
    case 2: // writes to one collection, API version chosen by query parameter regex
      return { uri: exact(`${svc}/orders`), ignoreUriCase: false, headers: [], method: exact('POST'), queryParams: [{ name: 'version', match: withRegex ? regex('v[12]') : exact('v1') }] };
    case 3: // static files, case-insensitive regex, not for canary users, browsers only
      return {
        uri: withRegex ? regex(`(?i)${svc}/(static|assets)/[a-z0-9_/.-]+\\.(js|css)`) : prefix(`${svc}/static/`),
        ignoreUriCase: !withRegex,
        headers: [
          { name: 'x-canary', match: exact('true'), invert: true },
          { name: 'accept', match: prefix('text/'), invert: false },
        ],
      };
    default: // anything under the prefix, addressed to the gateway's name on its port
      return {
        uri: prefix(`${svc}/`),
        ignoreUriCase: false,
        headers: [],
        authority: withRegex ? regex(`api\\.example\\.com(:[0-9]+)?`) : prefix(GATEWAY_HOST),
        port: GATEWAY_PORT,
      };
  }
}

/**
 * A gateway with `ruleCount` rules (a multiple of RULE_KINDS, so the last rule has the last
 * kind); `withRegex: false` for the same table with exact/prefix conditions instead of regexes.
 */
export function generateRuleTable(ruleCount: number, withRegex = true): RuleTable {
  if (!Number.isInteger(ruleCount) || ruleCount < RULE_KINDS * 2 || ruleCount % RULE_KINDS !== 0) {
    throw new Error(`bench: generateRuleTable(${ruleCount}): rule count must be a multiple of ${RULE_KINDS}, at least ${RULE_KINDS * 2}`);
  }
  const clusters: Cluster[] = [];
  const routes: Route[] = [];
  const conditions = { total: 0, regex: 0, header: 0 };
  for (let i = 0; i < ruleCount; i++) {
    const name = `outbound|80||svc-${i}.default.svc.cluster.local`;
    clusters.push({
      name,
      host: `svc-${i}.default.svc.cluster.local`,
      port: 80,
      subset: '',
      endpoints: [{ address: `10.1.${(i >> 8) & 255}.${i & 255}`, port: 8080, labels: {}, weight: 1 }],
      lb: 'ROUND_ROBIN',
    });
    const m = ruleMatches(i, withRegex);
    const all = [m.uri, m.method, m.authority, ...m.headers.map((h) => h.match), ...(m.queryParams ?? []).map((q) => q.match)].filter((c) => c != null);
    conditions.total += all.length + (m.port != null ? 1 : 0);
    conditions.regex += all.filter((c) => c!.kind === 'regex').length;
    conditions.header += m.headers.length;
    routes.push({
      name: `gateway/api/${i}`,
      matches: [m],
      destinations: [{ cluster: name, weight: 100, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() }],
      requestHeaders: noHeaderOps(),
      responseHeaders: noHeaderOps(),
      timeoutMs: null,
    });
  }
  const browser: Array<[string, string]> = [
    ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
    ['accept', 'text/html,application/xhtml+xml'],
    ['x-request-id', '3f1c2a9e-7b4d-4e21-9c55-0d6f8e2b1a77'],
  ];
  const mid = ruleCount / 2 - ((ruleCount / 2) % RULE_KINDS); // a kind-0 rule near the middle
  const last = ruleCount - 1;
  return {
    mesh: { virtualHosts: [{ name: `${GATEWAY_HOST}:${GATEWAY_PORT}`, domains: [GATEWAY_HOST, `${GATEWAY_HOST}:${GATEWAY_PORT}`], routes }], clusters },
    ruleCount,
    conditions,
    requests: {
      early: { method: 'GET', path: '/svc-0/v2/items/42', authority: GATEWAY_HOST, headers: [...browser, ['x-tenant', 'tenant-0']], expect: 0 },
      middle: { method: 'GET', path: `/svc-${mid}/v1/items/7`, authority: GATEWAY_HOST, headers: [...browser, ['x-tenant', `tenant-${mid}`]], expect: mid },
      late: { method: 'GET', path: `/svc-${last}/report.pdf`, authority: `${GATEWAY_HOST}:${GATEWAY_PORT}`, headers: browser, expect: last },
      miss: { method: 'GET', path: `/svc-${ruleCount}/v1/items/7`, authority: GATEWAY_HOST, headers: [...browser, ['x-tenant', `tenant-${ruleCount}`]], expect: -1 },
    },
  };
}
