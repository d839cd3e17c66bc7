import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, type ConfigIssue } from '../../host/config/index.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../helpers/seed-000-yaml.js';

/** Loads and returns the ConfigError's issues; fails the test when the load succeeds. */
function issuesOf(sources: string[], options: { gateway?: string } = {}): { error: ConfigError; issues: ConfigIssue[] } {
  try {
    loadConfig(sources, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const error = err as ConfigError;
    expect(error.code).toBe('invalid_config');
    return { error, issues: error.issues };
  }
  throw new Error('expected a ConfigError');
}

const GATEWAY = `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: web-gateway
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`;

function vs(body: string): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: web
spec:
  hosts: ["*"]
  gateways: [web-gateway]
  http:
${body}`;
}

describe('each error names file, document, line, kind/name, path and reason', () => {
  test('unknown field', () => {
    const t = tempYaml({
      'vs.yaml': GATEWAY + '---\n' + vs(`  - route:
    - destination:
        host: web
        port: {number: 5005}
      wieght: 100
`),
    });
    const { issues, error } = issuesOf([t.dir]);
    expect(issues).toEqual([
      {
        code: 'unknown_field',
        file: t.path('vs.yaml'),
        doc: 2,
        line: 22,
        kind: 'VirtualService',
        name: 'default/web',
        path: 'spec.http[0].route[0].wieght',
        reason: 'unknown field "wieght": not part of the Istio VirtualService API',
      },
    ]);
    expect(error.message).toContain(`${t.path('vs.yaml')}:22 (document 2) VirtualService default/web: spec.http[0].route[0].wieght: unknown field "wieght"`);
  });

  test('wrong type', () => {
    const t = tempYaml({
      'vs.yaml': vs(`  - route:
    - destination:
        host: web
        port:
          number: "5005"
`),
    });
    const [issue] = issuesOf([t.dir]).issues;
    expect(issue).toMatchObject({
      code: 'invalid_type',
      doc: 1,
      line: 13,
      kind: 'VirtualService',
      name: 'default/web',
      path: 'spec.http[0].route[0].destination.port.number',
      reason: 'expected a number, got the string "5005"',
    });
  });

  test('weights: a total of 0 and a negative weight are errors (as Istio); any positive total is accepted as written', () => {
    const t = tempYaml({
      'a.yaml': vs(`  - route:
    - destination: {host: web, subset: v1}
      weight: 0
    - destination: {host: web, subset: v2}
`),
      'b.yaml': vs(`  - route:
    - destination: {host: web, subset: v1}
      weight: -1
    - destination: {host: web, subset: v2}
      weight: 100
`),
    });
    const { issues } = issuesOf([t.dir]);
    expect(issues.map((i) => [i.file, i.code, i.line, i.path, i.reason])).toEqual([
      [t.path('a.yaml'), 'invalid_weight', 9, 'spec.http[0].route', 'the weights of the 2 destinations total 0 (0 + 0; an unset weight is 0): at least one must be positive'],
      [t.path('b.yaml'), 'invalid_weight', 11, 'spec.http[0].route[0].weight', 'weight must not be negative, got number -1'],
    ]);
    // Istio 1.15+ normalises any other total: 80 + 10 and 101 + 0 load, the weights kept as written.
    const ok = tempYaml({
      'gw.yaml': GATEWAY,
      'a.yaml': vs(`  - route:
    - destination: {host: web, subset: v1}
      weight: 80
    - destination: {host: web, subset: v2}
      weight: 10
  - route:
    - destination: {host: web, subset: v1}
      weight: 101
    - destination: {host: web, subset: v2}
`),
    });
    const routes = loadConfig([ok.dir], { gateway: 'web-gateway' }).mesh.virtualHosts[0]!.routes;
    expect(routes.map((r) => r.destinations.map((d) => d.weight))).toEqual([[80, 10], [101, 0]]);
  });

  test('a weight total beyond what the core counts is an error naming the limit', () => {
    const t = tempYaml({
      'a.yaml': vs(`  - route:
    - destination: {host: web, subset: v1}
      weight: 2000000000
    - destination: {host: web, subset: v2}
      weight: 1
`),
    });
    const [issue] = issuesOf([t.dir]).issues;
    expect([issue!.code, issue!.path, issue!.reason]).toEqual([
      'invalid_weight', 'spec.http[0].route', 'the weights of the 2 destinations total 2000000001; at most 1073741823 is supported (scale them down: only their ratio matters)',
    ]);
  });

  test('bad duration', () => {
    const t = tempYaml({
      'vs.yaml': vs(`  - route:
    - destination: {host: web}
    timeout: 2 seconds
    retries: {attempts: 2, perTryTimeout: 500us}
`),
    });
    const { issues } = issuesOf([t.dir]);
    expect(issues.map((i) => [i.code, i.line, i.path])).toEqual([
      ['invalid_duration', 11, 'spec.http[0].timeout'],
      ['invalid_duration', 12, 'spec.http[0].retries.perTryTimeout'],
    ]);
    expect(issues[0]!.reason).toMatch(/^"2 seconds" is not a valid duration/);
    expect(issues[1]!.reason).toMatch(/millisecond precision/);
  });

  test('a duration given as a number says which string to write', () => {
    const t = tempYaml({
      'vs.yaml': vs(`  - route:
    - destination: {host: web}
    timeout: 2
    retries: {attempts: 2, perTryTimeout: 0.5}
    fault:
      delay: {fixedDelay: [1], percentage: {value: 10}}
`),
    });
    const { issues } = issuesOf([t.dir]);
    expect(issues.map((i) => [i.code, i.line, i.path, i.reason])).toEqual([
      ['invalid_type', 11, 'spec.http[0].timeout', 'expected a string, got number 2: write "2s" (a duration needs a unit: h, m, s, ms)'],
      ['invalid_type', 12, 'spec.http[0].retries.perTryTimeout', 'expected a string, got number 0.5: write "0.5s" (a duration needs a unit: h, m, s, ms)'],
      ['invalid_type', 14, 'spec.http[0].fault.delay.fixedDelay', 'expected a string, got a list'],
    ]);
  });

  test('unknown gateway', () => {
    const t = tempYaml({ 'gw.yaml': GATEWAY });
    const { issues, error } = issuesOf([t.dir], { gateway: 'web-gatewy' });
    expect(issues).toEqual([
      {
        code: 'unknown_gateway',
        file: null,
        doc: null,
        line: null,
        kind: 'Gateway',
        name: 'default/web-gatewy',
        path: '--gateway',
        reason: 'no Gateway default/web-gatewy in the loaded files (defined: default/web-gateway)',
      },
    ]);
    expect(error.message).toContain('(options) Gateway default/web-gatewy: --gateway: no Gateway');
    // A namespace that does not hold it is not found either.
    expect(issuesOf([t.dir], { gateway: 'istio-system/web-gateway' }).issues[0]!.code).toBe('unknown_gateway');
  });

  test('YAML syntax error', () => {
    const t = tempYaml({ 'bad.yaml': GATEWAY + '---\nkind: VirtualService\nmetadata:\n  name: [web\nspec: {}\n' });
    const { issues } = issuesOf([t.dir]);
    expect(issues.length).toBeGreaterThanOrEqual(1);
    expect(issues[0]).toMatchObject({ code: 'yaml_syntax', file: t.path('bad.yaml'), doc: 2 });
    expect(issues[0]!.line).toBeGreaterThanOrEqual(12);
    expect(issues[0]!.reason).toMatch(/^YAML syntax error: /);
  });

  test('missing required fields, unknown enum value, unknown apiVersion', () => {
    const t = tempYaml({
      'se.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web}
spec:
  hosts: [web]
  ports: [{number: 5005, protocol: HTTP}]
  resolution: STATIK
---
apiVersion: networking.istio.io/v2
kind: Gateway
metadata: {name: g}
spec: {}
`,
    });
    const { issues } = issuesOf([t.dir]);
    expect(issues.map((i) => [i.code, i.doc, i.line, i.path])).toEqual([
      ['missing_field', 1, 6, 'spec.ports[0].name'],
      ['invalid_value', 1, 7, 'spec.resolution'],
      ['unknown_api_version', 2, 9, 'apiVersion'],
    ]);
    expect(issues[1]!.reason).toBe('must be one of NONE, STATIC, DNS, DNS_ROUND_ROBIN, DYNAMIC_DNS, got the string "STATIK"');
  });

  test('a missing spec is one error for the kinds that need one (a security policy without spec is the empty policy)', () => {
    const t = tempYaml({ 'vs.yaml': 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web}\n' });
    expect(issuesOf([t.dir]).issues.map((i) => [i.code, i.path, i.reason])).toEqual([['missing_field', 'spec', 'required field is missing (expected a mapping)']]);
  });

  test('bad regexes are errors where they are written, in every match field, when the route is served', () => {
    const t = tempYaml({
      'all.yaml': GATEWAY + '---\n' + vs(`  - match:
    - headers:
        user-agent:
          regex: "(unclosed"
      method: {regex: "GET|(?=POST)"}
      queryParams: {debug: {regex: ""}}
      uri: {regex: "/a{2000}"}
      withoutHeaders: {x-a: {regex: "(a)\\\\1"}}
    route:
    - destination: {host: web}
`),
    });
    const { issues } = issuesOf([t.dir], { gateway: 'web-gateway' });
    expect(issues.map((i) => [i.code, i.line, i.path])).toEqual([
      ['invalid_regex', 21, 'spec.http[0].match[0].headers.user-agent.regex'],
      ['unsupported_regex', 22, 'spec.http[0].match[0].method.regex'],
      ['invalid_regex', 23, 'spec.http[0].match[0].queryParams.debug.regex'],
      ['regex_too_large', 24, 'spec.http[0].match[0].uri.regex'],
      ['unsupported_regex', 25, 'spec.http[0].match[0].withoutHeaders.x-a.regex'],
    ]);
    expect(issues[0]!.reason).toMatch(/^regex "\(unclosed" at offset 0: missing `\)`/);
    expect(issues[2]!.reason).toBe('a regex must not be empty (to match anything, leave the condition out)');
    expect(issues[0]).toMatchObject({ file: t.path('all.yaml'), doc: 2, kind: 'VirtualService', name: 'default/web' });
    // Not bound to the mesh, so in mesh mode the same file loads (the rule is not served there).
    expect(() => loadConfig([t.dir])).not.toThrow();
  });

  test('a destination without port on a service with several ports', () => {
    const t = tempYaml({
      'se.yaml': WEB_SERVICE.replace('  - {number: 5005, name: http, protocol: HTTP}', '  - {number: 5005, name: http, protocol: HTTP}\n  - {number: 5006, name: http-admin}'),
      'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - route:
    - destination: {host: web}
`,
    });
    const [issue] = issuesOf([t.dir]).issues;
    expect(issue).toMatchObject({ code: 'ambiguous_port', file: t.path('vs.yaml'), line: 8, path: 'spec.http[0].route[0].destination' });
    expect(issue!.reason).toContain('ports 5005, 5006');
  });

  test('every error of a load is collected, across files, in file order', () => {
    const t = tempYaml({
      'a.yaml': vs(`  - route:
    - destination: {host: web}
      weight: -1
`),
      'b.yaml': GATEWAY.replace('number: 80', 'number: 0').replace('hosts: ["*"]', 'hosts: ["*"]\n    color: blue'),
    });
    const { issues, error } = issuesOf([t.dir]);
    expect(issues.map((i) => [i.file, i.path])).toEqual([
      [t.path('a.yaml'), 'spec.http[0].route[0].weight'],
      [t.path('b.yaml'), 'spec.servers[0].port.number'],
      [t.path('b.yaml'), 'spec.servers[0].color'],
    ]);
    expect(error.message.split('\n')[0]).toBe('invalid config: 3 errors');
  });
});

describe('nothing is half-applied', () => {
  test('one bad document among good ones fails the whole load', () => {
    const t = tempYaml({
      '00-services.yaml': WEB_SERVICE,
      '01-gateway.yaml': GATEWAY,
      '02-vs.yaml': vs(`  - route:
    - destination: {host: web, port: {number: 5005}}
`),
      '03-bad.yaml': `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets: [{name: v1, labels: {version: v1}, trafic: {}}]
`,
    });
    let result: unknown = 'unset';
    try {
      result = loadConfig([t.dir], { gateway: 'web-gateway' });
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['spec.subsets[0].trafic']);
    }
    expect(result).toBe('unset'); // no LoadedConfig was produced
  });

  test('an invalid Gateway is reported once, not again as unknown', () => {
    const t = tempYaml({ 'gw.yaml': GATEWAY.replace('protocol: HTTP', 'protocol: 80') });
    const { issues } = issuesOf([t.dir], { gateway: 'web-gateway' });
    expect(issues.map((i) => [i.code, i.path])).toEqual([['invalid_type', 'spec.servers[0].port.protocol']]);
  });
});
