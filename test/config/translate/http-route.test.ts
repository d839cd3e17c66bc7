import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, type ConfigIssue, type LoadOptions } from '../../../host/config/index.js';
import type { Route } from '../../../host/model/mesh.js';
import { retryPolicyFromIstio } from '../../../host/config/translate/retry-policy.js';
import { block } from '../model-builders.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../../helpers/seed-000-yaml.js';
import { load } from '../../helpers/route-table-builder.js';

const WEB = 'web.default.svc.cluster.local';
const V1 = `outbound|5005|v1|${WEB}`;
const V2 = `outbound|5005|v2|${WEB}`;

const SUBSETS = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;

/** A mesh-bound VirtualService for web whose `http` list is `http` (indented as under `http:`). */
function vs(http: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
${http}`;
}

function routes(http: string, options: LoadOptions = {}): Route[] {
  const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': SUBSETS, 'c.yaml': vs(http) });
  return loadConfig([t.dir], options).mesh.virtualHosts.find((v) => v.name === WEB)?.routes ?? [];
}

function issuesOf(http: string): ConfigIssue[] {
  const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': SUBSETS, 'c.yaml': vs(http) });
  try {
    loadConfig([t.dir]);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('match blocks', () => {
  test('every request condition, as the model holds it', () => {
    const [r] = routes(`  - match:
    - uri: {prefix: /API}
      ignoreUriCase: true
      method: {exact: POST}
      authority: {regex: "web(:5005)?"}
      scheme: {exact: http}
      port: 5005
      headers:
        X-User: {exact: jason}
        x-any: {}
      withoutHeaders:
        x-debug: {}
      queryParams:
        v: {exact: "2"}
        flag: {}
        q: {prefix: a}
        r: {regex: "[0-9]+"}
    route:
    - destination: {host: web, subset: v1}
`);
    expect(r!.matches).toEqual([
      block({
        uri: { kind: 'prefix', value: '/API' },
        ignoreUriCase: true,
        method: { kind: 'exact', value: 'POST' },
        authority: { kind: 'regex', value: 'web(:5005)?' },
        scheme: { kind: 'exact', value: 'http' },
        port: 5005,
        headers: [
          { name: 'x-user', match: { kind: 'exact', value: 'jason' }, invert: false },
          { name: 'x-any', match: null, invert: false },
          { name: 'x-debug', match: null, invert: true },
        ],
        queryParams: [
          { name: 'v', match: { kind: 'exact', value: '2' } },
          { name: 'flag', match: null },
          { name: 'q', match: { kind: 'prefix', value: 'a' } },
          { name: 'r', match: { kind: 'regex', value: '[0-9]+' } },
        ],
      }),
    ]);
  });

  test('an empty uri/method StringMatch sets no condition', () => {
    const [r] = routes(`  - match:
    - uri: {}
      method: {}
    route:
    - destination: {host: web}
`);
    expect(r!.matches).toEqual([block()]);
  });

  const SOURCE_RULES = `  - name: from-v1
    match:
    - sourceLabels: {app: client, version: v1}
    route:
    - destination: {host: web, subset: v1}
  - name: from-prod-or-header
    match:
    - sourceNamespace: prod
    - headers: {x-canary: {exact: "1"}}
    route:
    - destination: {host: web, subset: v2}
  - name: gateway-only
    match:
    - gateways: [web-gateway]
    route:
    - destination: {host: web, subset: v2}
  - name: rest
    route:
    - destination: {host: web, subset: v1}
`;

  test('sourceLabels, sourceNamespace and per-match gateways are decided for the proxy', () => {
    // No labels: the sourceLabels rule cannot apply and is dropped; the prod block is dropped,
    // its sibling block stays; the gateway-only rule is not for the mesh.
    const none = routes(SOURCE_RULES);
    expect(none.map((r) => r.name)).toEqual(['default/web/from-prod-or-header', 'default/web/rest']);
    expect(none[0]!.matches).toEqual([block({ headers: [{ name: 'x-canary', match: { kind: 'exact', value: '1' }, invert: false }] })]);

    // A proxy with the labels (and more): the rule applies, with no request condition left.
    const labelled = routes(SOURCE_RULES, { labels: { app: 'client', version: 'v1', zone: 'a' } });
    expect(labelled.map((r) => r.name)).toEqual(['default/web/from-v1', 'default/web/from-prod-or-header', 'default/web/rest']);
    expect(labelled[0]!.matches).toEqual([block()]);
    // One label differs: dropped.
    expect(routes(SOURCE_RULES, { labels: { app: 'client', version: 'v2' } }).map((r) => r.name)[0]).toBe('default/web/from-prod-or-header');
  });

  test('sourceNamespace compares with the proxy namespace', () => {
    const t = tempYaml({
      'a.yaml': WEB_SERVICE.replaceAll('metadata:\n  name: web', 'metadata:\n  name: web\n  namespace: default').replaceAll('metadata: {name: web-v', 'metadata: {namespace: default, name: web-v'),
      'b.yaml': SUBSETS.replace('metadata: {name: web}', 'metadata: {name: web, namespace: default}'),
      'c.yaml': vs(SOURCE_RULES).replace('metadata: {name: web}', 'metadata: {name: web, namespace: default}'),
    });
    const prod = loadConfig([t.dir], { namespace: 'prod' }).mesh.virtualHosts.find((v) => v.name === WEB)!.routes;
    expect(prod[0]!.name).toBe('default/web/from-prod-or-header');
    expect(prod[0]!.matches).toEqual([block(), block({ headers: [{ name: 'x-canary', match: { kind: 'exact', value: '1' }, invert: false }] })]);
  });
});

describe('weights over any positive total (Istio 1.15+)', () => {
  /** Loads `weights` for v1, v2, … (v3 reuses v1's subset), compiles, and counts `picks` core picks per cluster. */
  function split(weights: number[], picks: number): number[] {
    const subsets = ['v1', 'v2', 'v1'];
    const dests = weights.map((w, i) => `    - destination: {host: web, subset: ${subsets[i]}}\n      weight: ${w}\n`).join('');
    const [r] = routes(`  - route:\n${dests}`);
    expect(r!.destinations.map((d) => d.weight)).toEqual(weights);
    const clusters = loadAll().mesh.clusters.map((c) => ({ ...c, lb: 'ROUND_ROBIN' as const }));
    const table = load({ virtualHosts: [{ name: 'v', domains: ['v'], routes: [r!] }], clusters });
    const counts = new Array<number>(weights.length).fill(0);
    for (let i = 0; i < picks; i++) counts[table.pickDestination(0)]!++;
    table.release();
    return counts;
  }
  const loadAll = () => loadConfig([tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': SUBSETS }).dir]);

  test('1/3 splits exactly 25/75 over 400 picks', () => {
    expect(split([1, 3], 400)).toEqual([100, 300]);
  });

  test('50/50/50 splits in thirds; 80/10 as 8 to 1', () => {
    expect(split([50, 50, 50], 300)).toEqual([100, 100, 100]);
    expect(split([80, 10], 90)).toEqual([80, 10]);
  });
});

describe('route actions', () => {
  test('rewrite, CORS, fault, mirrors, retries', () => {
    const [r] = routes(`  - route:
    - destination: {host: web, subset: v1}
    rewrite:
      authority: api.internal
      uriRegexRewrite: {match: "^/v1/(.*)$", rewrite: "/\\\\1"}
    corsPolicy:
      allowOrigins: [{exact: "https://a.example"}, {regex: "https://.*\\\\.b\\\\.example"}]
      allowMethods: [GET, POST]
      allowHeaders: [x-user]
      exposeHeaders: [x-trace]
      maxAge: 24h
      allowCredentials: true
      unmatchedPreflights: IGNORE
    fault:
      delay: {fixedDelay: 5s, percentage: {value: 12.5}}
      abort: {httpStatus: 503, percentage: {value: 1}}
    mirrors:
    - destination: {host: web, subset: v2}
      percentage: {value: 50}
    - destination: {host: web, subset: v1}
    - destination: {host: web, subset: v2}
      percentage: {value: 0}
    retries: {attempts: 4, perTryTimeout: 300ms, retryOn: "5xx,503", backoff: 50ms}
`);
    expect(r!.rewrite).toEqual({ authority: 'api.internal', uriRegex: { match: '^/v1/(.*)$', rewrite: '/\\1' } });
    expect(r!.cors).toEqual({
      allowOrigins: [{ kind: 'exact', value: 'https://a.example' }, { kind: 'regex', value: 'https://.*\\.b\\.example' }],
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['x-user'],
      exposeHeaders: ['x-trace'],
      maxAgeSeconds: 86_400,
      allowCredentials: true,
      unmatchedPreflights: 'IGNORE',
    });
    expect(r!.fault).toEqual({ delay: { fixedDelayMs: 5000, percentage: 12.5 }, abort: { httpStatus: 503, percentage: 1 } });
    // 0 % mirrors are left out; no percentage is 100 %.
    expect(r!.mirrors).toEqual([{ cluster: V2, percentage: 50 }, { cluster: V1, percentage: 100 }]);
    expect(r!.retry).toEqual({ retries: 4, retryOn: ['5xx', 'retriable-status-codes'], retriableStatusCodes: [503], perTryTimeoutMs: 300, backoffBaseMs: 50, backoffMaxMs: 500 });
    expect(r!.redirect).toBeNull();
    expect(r!.directResponse).toBeNull();
  });

  test('redirect (default 301) and direct responses (string, base64 bytes)', () => {
    const rs = routes(`  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, authority: b.example, derivePort: FROM_REQUEST_PORT, scheme: https}
  - match: [{uri: {exact: /moved}}]
    redirect: {uri: /elsewhere, port: 8443, redirectCode: 308}
  - match: [{uri: {exact: /health}}]
    directResponse: {status: 200, body: {string: ok}}
  - match: [{uri: {exact: /bin}}]
    directResponse: {status: 418, body: {bytes: "AP8="}}
  - directResponse: {status: 404}
`);
    expect(rs.map((r) => r.redirect)).toEqual([
      { uri: '/new', authority: 'b.example', derivePort: 'FROM_REQUEST_PORT', scheme: 'https', redirectCode: 301 },
      { uri: '/elsewhere', port: 8443, redirectCode: 308 },
      null, null, null,
    ]);
    expect(rs.map((r) => r.directResponse)).toEqual([null, null, { status: 200, body: 'ok' }, { status: 418, body: '\x00\xff' }, { status: 404, body: null }]);
    expect(rs.every((r) => r.destinations.length === 0)).toBe(true);
  });

  test('mirror with the deprecated mirror_percent, mirrorPercentage, 0 % and defaults; retries absent or 0', () => {
    const rs = routes(`  - match: [{uri: {prefix: /a}}]
    route: [{destination: {host: web, subset: v1}}]
    mirror: {host: web, subset: v2}
    mirror_percent: 30
  - match: [{uri: {prefix: /b}}]
    route: [{destination: {host: web, subset: v1}}]
    mirror: {host: web, subset: v2}
    mirrorPercentage: {value: 0.5}
  - match: [{uri: {prefix: /c}}]
    route: [{destination: {host: web, subset: v1}}]
    mirror: {host: web, subset: v2}
    mirrorPercentage: {value: 0}
    retries: {attempts: 0}
  - route: [{destination: {host: web, subset: v1}}]
    mirror: {host: web, subset: v2}
`);
    expect(rs.map((r) => r.mirrors)).toEqual([[{ cluster: V2, percentage: 30 }], [{ cluster: V2, percentage: 0.5 }], [], [{ cluster: V2, percentage: 100 }]]);
    expect(rs[2]!.retry!.retries).toBe(0);
    expect(rs[3]!.retry).toEqual(retryPolicyFromIstio(undefined));
  });

  test('a mirror to an undefined subset still gets its (empty) cluster', () => {
    const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': SUBSETS, 'c.yaml': vs(`  - route: [{destination: {host: web, subset: v1}}]
    mirror: {host: web, subset: shadow}
`) });
    const config = loadConfig([t.dir]);
    expect(config.mesh.clusters.find((c) => c.name === `outbound|5005|shadow|${WEB}`)).toMatchObject({ endpoints: [], lb: 'LEAST_REQUEST' });
    expect(config.warnings.join('\n')).toMatch(/spec\.http\[0\]\.mirror\.subset: no DestinationRule defines subset "shadow"/);
  });
});

describe('errors are located on the field', () => {
  test.each([
    ['rewrite group reference beyond the groups', `  - route: [{destination: {host: web}}]
    rewrite: {uriRegexRewrite: {match: "^/(a)/(b)$", rewrite: "/\\\\3"}}
`, 'invalid_value', 'spec.http[0].rewrite.uriRegexRewrite.rewrite', /\\3 refers to capture group 3, but the match pattern has only 2/],
    ['rewrite regex that does not compile', `  - route: [{destination: {host: web}}]
    rewrite: {uriRegexRewrite: {match: "(?<=a)b", rewrite: "/"}}
`, 'unsupported_regex', 'spec.http[0].rewrite.uriRegexRewrite.match', /lookaround|look-behind|lookbehind/],
    ['rewrite with uri and uriRegexRewrite', `  - route: [{destination: {host: web}}]
    rewrite: {uri: /x, uriRegexRewrite: {match: "a", rewrite: "b"}}
`, 'invalid_value', 'spec.http[0].rewrite.uriRegexRewrite', /cannot both be set/],
    ['empty rewrite', `  - route: [{destination: {host: web}}]
    rewrite: {}
`, 'missing_field', 'spec.http[0].rewrite', /must specify uri, authority or uriRegexRewrite/],
    ['redirect code not 3xx', `  - redirect: {uri: /x, redirectCode: 200}
`, 'invalid_value', 'spec.http[0].redirect.redirectCode', /200 is not a redirect code/],
    ['redirect with port and derivePort', `  - redirect: {port: 80, derivePort: FROM_REQUEST_PORT}
`, 'invalid_value', 'spec.http[0].redirect.derivePort', /cannot both be set/],
    ['redirect and rewrite', `  - redirect: {uri: /x}
    rewrite: {uri: /y}
`, 'invalid_value', 'spec.http[0].rewrite', /both redirect and rewrite/],
    ['abort by grpcStatus', `  - route: [{destination: {host: web}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 10}}}
`, 'unsupported_field', 'spec.http[0].fault.abort.grpcStatus', /not served/],
    ['delay without fixedDelay', `  - route: [{destination: {host: web}}]
    fault: {delay: {percentage: {value: 10}}}
`, 'missing_field', 'spec.http[0].fault.delay.fixedDelay', /needs fixedDelay/],
    ['abort status out of range', `  - route: [{destination: {host: web}}]
    fault: {abort: {httpStatus: 99, percentage: {value: 10}}}
`, 'invalid_value', 'spec.http[0].fault.abort.httpStatus', /200\.\.599/],
    ['mirror and mirrors', `  - route: [{destination: {host: web}}]
    mirror: {host: web}
    mirrors: [{destination: {host: web}}]
`, 'invalid_value', 'spec.http[0].mirrors', /cannot both be set/],
    ['retryOn Istio does not know', `  - route: [{destination: {host: web}}]
    retries: {attempts: 2, retryOn: "5xx,sometimes"}
`, 'invalid_value', 'spec.http[0].retries', /"sometimes" is not a valid retryOn policy/],
    ['retryOn Istio knows that wasmesh does not serve', `  - route: [{destination: {host: web}}]
    retries: {attempts: 2, retryOn: "retriable-headers"}
`, 'unsupported_field', 'spec.http[0].retries', /retriable-headers/],
    ['CORS maxAge below a second', `  - route: [{destination: {host: web}}]
    corsPolicy: {allowOrigins: [{exact: "*"}], maxAge: 1500ms}
`, 'invalid_duration', 'spec.http[0].corsPolicy.maxAge', /whole seconds/],
    ['CORS method', `  - route: [{destination: {host: web}}]
    corsPolicy: {allowMethods: [GET, FETCH]}
`, 'invalid_value', 'spec.http[0].corsPolicy.allowMethods[1]', /"FETCH" is not an HTTP method/],
    ['CORS origin regex', `  - route: [{destination: {host: web}}]
    corsPolicy: {allowOrigins: [{regex: "[a-"}]}
`, 'invalid_regex', 'spec.http[0].corsPolicy.allowOrigins[0].regex', /regex/],
    ['empty query parameter name', `  - match: [{queryParams: {"": {exact: a}}}]
    route: [{destination: {host: web}}]
`, 'invalid_value', 'spec.http[0].match[0].queryParams[""]', /must not be empty/],
    ['delegate', `  - delegate: {name: other}
`, 'unsupported_field', 'spec.http[0].delegate', /not served yet/],
  ])('%s', (_, http, code, path, reason) => {
    const issues = issuesOf(http);
    expect(issues.map((i) => [i.code, i.path])).toContainEqual([code, path]);
    const issue = issues.find((i) => i.path === path)!;
    expect(issue.reason).toMatch(reason);
    expect(issue.file).toMatch(/c\.yaml$/);
    expect(issue.line).toBeGreaterThanOrEqual(7);
    expect(issue.name).toBe('default/web');
  });

  test('a fault without percentage is injected into no request, with a warning; deprecated percent is read', () => {
    const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'c.yaml': vs(`  - route: [{destination: {host: web}}]
    fault:
      delay: {fixedDelay: 1s, percent: 20}
      abort: {httpStatus: 500}
`) });
    const config = loadConfig([t.dir]);
    expect(config.mesh.virtualHosts[0]!.routes[0]!.fault).toEqual({ delay: { fixedDelayMs: 1000, percentage: 20 }, abort: { httpStatus: 500, percentage: 0 } });
    const w = config.warnings.join('\n');
    expect(w).toMatch(/c\.yaml:10 \(document 1\) VirtualService default\/web: spec\.http\[0\]\.fault\.abort: has no percentage: it is injected into no request/);
    expect(w).toMatch(/spec\.http\[0\]\.fault\.delay\.percent is deprecated: use percentage\.value/);
  });
});
