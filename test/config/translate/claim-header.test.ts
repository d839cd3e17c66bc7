// Istio's `@request.auth.claims` header-match names: the parser (the cases of Istio's
// TestTranslateMetadataMatch and ToRoutingClaim), and the VirtualService translation: the model's
// claim condition, Istio's validation (claim routing only with a gateway), a located error for a
// malformed name or a match without a value.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { claimHeader } from '../../../host/config/translate/claim-header.js';
import { ConfigError, loadConfig, type ConfigIssue } from '../../../host/config/index.js';
import type { HeaderMatch } from '../../../host/model/mesh.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../../helpers/seed-000-yaml.js';

describe('claimHeader', () => {
  test.each([
    ['x-some-other-header', { kind: 'header' }],
    ['@request.auth.claimsx', { kind: 'bad' }],
    ['@request.auth.claims', { kind: 'bad' }],
    ['@request.auth.claims-', { kind: 'bad' }],
    ['@request.auth.claims.', { kind: 'bad' }],
    ['@request.auth.claims[]', { kind: 'bad' }],
    ['@request.auth.claims.a..b', { kind: 'bad' }],
    ['@request.auth.claims[a][]', { kind: 'bad' }],
    ['request.auth.claims.key1', { kind: 'header' }],
    ['@request.auth.claims.key1', { kind: 'claim', path: ['key1'] }],
    ['@request.auth.claims.key1.KEY2', { kind: 'claim', path: ['key1', 'KEY2'] }],
    ['@request.auth.claims.key1-key2', { kind: 'claim', path: ['key1-key2'] }],
    ['@Request.Auth.Claims.Group', { kind: 'claim', path: ['Group'] }],
    ['@request.auth.claims[key1][key.2]', { kind: 'claim', path: ['key1', 'key.2'] }],
  ] as const)('%s', (name, want) => {
    const got = claimHeader(name);
    expect(got.kind).toBe(want.kind);
    if (want.kind === 'claim') expect(got).toEqual(want);
  });

  test('a dotted path of non-empty names without dots reads back as that path', () => {
    const name = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('.'));
    fc.assert(fc.property(fc.array(name, { minLength: 1, maxLength: 4 }), (path) => {
      expect(claimHeader(`@request.auth.claims.${path.join('.')}`)).toEqual({ kind: 'claim', path });
    }));
  });
});

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`;

function vs(gateways: string, match: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: ${gateways}
  http:
  - match:
    - ${match}
    route:
    - destination: {host: web}
`;
}

function load(gateways: string, match: string): { headers: HeaderMatch[] } | { issues: ConfigIssue[] } {
  const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': GATEWAY, 'c.yaml': vs(gateways, match) });
  try {
    const { mesh } = loadConfig([t.dir], gateways.includes('gw') ? { gateway: 'gw' } : {});
    const route = mesh.virtualHosts.flatMap((v) => v.routes).find((r) => r.matches.length > 0)!;
    return { headers: route.matches[0]!.headers };
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return { issues: (err as ConfigError).issues };
  }
}

describe('claim conditions in a VirtualService', () => {
  test('headers and withoutHeaders claims become claim conditions (names kept as written), beside plain headers', () => {
    const got = load('[gw]', `headers: {"@request.auth.claims.groups": {exact: group1}, X-Env: {exact: prod}}
      withoutHeaders: {"@request.auth.claims[team][Name]": {prefix: b}}`);
    expect(got).toEqual({
      headers: [
        { name: '@request.auth.claims.groups', match: { kind: 'exact', value: 'group1' }, invert: false, claim: ['groups'] },
        { name: 'x-env', match: { kind: 'exact', value: 'prod' }, invert: false },
        { name: '@request.auth.claims[team][Name]', match: { kind: 'prefix', value: 'b' }, invert: true, claim: ['team', 'Name'] },
      ],
    });
  });

  test.each([
    ['[mesh]', 'headers: {"@request.auth.claims.groups": {exact: g}}', 'spec.http[0].match[0].headers["@request.auth.claims.groups"]', /only supported for gateway, found no gateways: \[mesh\]/],
    ['[]', 'withoutHeaders: {"@request.auth.claims.groups": {exact: g}}', 'spec.http[0].match[0].withoutHeaders["@request.auth.claims.groups"]', /only supported for gateway/],
    ['[gw]', 'headers: {"@request.auth.claims.groups": {}}', 'spec.http[0].match[0].headers["@request.auth.claims.groups"]', /needs exact, prefix or regex/],
    ['[gw]', 'headers: {"@request.auth.claims.": {exact: g}}', 'spec.http[0].match[0].headers["@request.auth.claims."]', /non-empty claim names/],
    ['[gw]', 'headers: {"@request.auth.claims.g": {regex: "(a"}}', 'spec.http[0].match[0].headers["@request.auth.claims.g"].regex', /missing `\)`/],
  ])('gateways %s, %s: refused at its place', (gateways, match, path, reason) => {
    const got = load(gateways, match);
    expect('issues' in got).toBe(true);
    const issue = (got as { issues: ConfigIssue[] }).issues.find((i) => i.path === path);
    expect(issue, JSON.stringify((got as { issues: ConfigIssue[] }).issues)).toBeDefined();
    expect(issue!.reason).toMatch(reason);
  });
});
