// The Envoy RouteMatch of a wasmesh match block: here, JWT claim conditions, which Istio writes as
// dynamic_metadata matchers on jwt_authn's payload (translateMetadataMatch), never as headers.
import { describe, expect, it } from 'vitest';
import { envoyRouteMatch } from '../../host/envoy/route-match.js';
import type { RouteMatch } from '../../host/model/mesh.js';

describe('envoyRouteMatch: JWT claim conditions', () => {
  it('a claim is a metadata matcher on the payload path (string or one element of a list), inverted for withoutHeaders; headers stay headers', () => {
    const m: RouteMatch = {
      uri: null,
      ignoreUriCase: false,
      headers: [
        { name: '@request.auth.claims.groups', match: { kind: 'exact', value: 'group1' }, invert: false, claim: ['groups'] },
        { name: 'x-env', match: { kind: 'prefix', value: 'pr' }, invert: false },
        { name: '@request.auth.claims[team][Name]', match: { kind: 'regex', value: 'a.*' }, invert: true, claim: ['team', 'Name'] },
      ],
    };
    const exact = { string_match: { exact: 'group1' } };
    const regex = { string_match: { safe_regex: { regex: 'a.*' } } };
    expect(envoyRouteMatch(m, 80)).toEqual({
      prefix: '/',
      headers: [{ name: 'x-env', string_match: { prefix: 'pr' } }],
      dynamic_metadata: [
        {
          filter: 'envoy.filters.http.jwt_authn',
          path: [{ key: 'payload' }, { key: 'groups' }],
          value: { or_match: { value_matchers: [{ list_match: { one_of: exact } }, exact] } },
        },
        {
          filter: 'envoy.filters.http.jwt_authn',
          path: [{ key: 'payload' }, { key: 'team' }, { key: 'Name' }],
          value: { or_match: { value_matchers: [{ list_match: { one_of: regex } }, regex] } },
          invert: true,
        },
      ],
    });
  });

  it('no claim: no dynamic_metadata', () => {
    expect(envoyRouteMatch({ uri: null, ignoreUriCase: false, headers: [{ name: 'x', match: null, invert: false }] }, 80)).toEqual({ prefix: '/', headers: [{ name: 'x', present_match: true }] });
  });
});
