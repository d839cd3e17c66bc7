// AuthzPolicy[] → the core's authorization table: the layout the core reads (header,
// records, pool), what the host needs beside it (attribute mask, claim paths), and bad
// values refused with a located AuthzCompileError.
import { test, expect } from 'vitest';
import { compileAuthorization, AuthzCompileError, AH, AZ_MAGIC, AZ_FORMAT, AZ_HEADER_SIZE, ATTR, POLICY_SIZE, VALUE_SIZE, DRY_RUN } from '../../host/compile/authorization.js';
import type { AuthzField, AuthzPolicy, AuthzValue } from '../../host/model/authorization.js';

const f = (attribute: AuthzField['attribute'], values: AuthzValue[], key?: string[]): AuthzField => (key ? { attribute, key, values, notValues: [] } : { attribute, values, notValues: [] });
const pol = (name: string, action: AuthzPolicy['action'], when: AuthzField[], dryRun = false): AuthzPolicy => ({ name, action, rules: [{ from: [], to: [], when }], dryRun, provider: null });

test('the empty table: a header and nothing else', () => {
  const c = compileAuthorization([]);
  const dv = new DataView(c.bytes.buffer);
  expect(dv.getUint32(AH.MAGIC, true)).toBe(AZ_MAGIC);
  expect(dv.getUint32(AH.FORMAT, true)).toBe(AZ_FORMAT);
  expect(dv.getUint32(AH.LENGTH, true)).toBe(c.bytes.length);
  expect(c.bytes.length).toBe(AZ_HEADER_SIZE);
  expect(c.attrMask).toBe(0);
});

test('records in the model order; actions, dry-run; the attribute mask; shared strings once', () => {
  const c = compileAuthorization([
    pol('ns/a', 'DENY', [f('request.path', [{ kind: 'exact', value: '/x' }]), f('source.principal', [{ kind: 'exact', value: '/x' }])]),
    pol('ns/b', 'ALLOW', [f('request.host', [{ kind: 'exact', value: 'Foo.COM' }])], true),
    pol('ns/c', 'AUDIT', [f('request.auth.claims', [{ kind: 'exact', value: 'g' }], ['org', 'team']), f('request.auth.claims', [{ kind: 'presence' }], ['org', 'team']), f('request.auth.claims', [{ kind: 'presence' }], ['groups'])]),
  ]);
  const dv = new DataView(c.bytes.buffer);
  const policies = dv.getUint32(AH.POLICIES, true);
  expect([0, 1, 2].map((i) => dv.getUint32(policies + i * POLICY_SIZE, true))).toEqual([1, 0 | DRY_RUN, 2]);
  expect(c.attrMask).toBe((1 << ATTR['request.path']) | (1 << ATTR['source.principal']) | (1 << ATTR['request.host']) | (1 << ATTR['request.auth.claims']));
  expect(c.claimPaths).toEqual([['org', 'team'], ['groups']]);
  expect(c.policies.map((p) => p.name)).toEqual(['ns/a', 'ns/b', 'ns/c']);
  // '/x' stored once; the host lower-cased.
  const pool = new TextDecoder().decode(c.bytes.subarray(dv.getUint32(AH.POOL, true), dv.getUint32(AH.POOL, true) + dv.getUint32(AH.POOL_LEN, true)));
  expect(pool).toBe('/xfoo.comg');
  const values = dv.getUint32(AH.VALUES, true);
  expect(dv.getUint32(AH.VALUE_COUNT, true)).toBe(6);
  expect(dv.getUint32(values + 4, true)).toBe(dv.getUint32(values + VALUE_SIZE + 4, true));
});

test('bad values are refused with the policy and the field', () => {
  const refuse = (field: AuthzField, code: string, where: string) => {
    let err: unknown;
    try {
      compileAuthorization([pol('ns/p', 'DENY', [field])]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AuthzCompileError);
    expect((err as AuthzCompileError).code).toBe(code);
    expect((err as AuthzCompileError).policy).toBe('ns/p');
    expect((err as AuthzCompileError).field).toBe(where);
    expect((err as Error).message).toContain('ns/p');
  };
  refuse(f('request.path', [{ kind: 'template', value: '/a/{*}b' }]), 'invalid_template', 'rules[0].when[0].values[0]');
  refuse(f('request.path', [{ kind: 'template', value: '/a/{**}/b' }]), 'invalid_template', 'rules[0].when[0].values[0]');
  refuse(f('request.path', [{ kind: 'template', value: '/a/{x}' }]), 'invalid_template', 'rules[0].when[0].values[0]');
  refuse(f('request.path', [{ kind: 'template', value: '/a{*}' }]), 'invalid_template', 'rules[0].when[0].values[0]');
  refuse(f('request.path', [{ kind: 'template', value: '/a/{*}/b*' }]), 'invalid_template', 'rules[0].when[0].values[0]');
  refuse(f('request.path', [{ kind: 'template', value: 'a/{*}' }]), 'invalid_template', 'rules[0].when[0].values[0]');
  refuse(f('request.headers', [{ kind: 'template', value: '/a' }], ['x']), 'unsupported_value', 'rules[0].when[0].values[0]');
  refuse(f('source.ip', [{ kind: 'exact', value: '1.2.3.4' }]), 'unsupported_value', 'rules[0].when[0].values[0]');
  refuse(f('request.path', [{ kind: 'cidr', address: '1.2.3.4', prefixLength: 8 }]), 'unsupported_value', 'rules[0].when[0].values[0]');
  refuse(f('source.ip', [{ kind: 'cidr', address: '1.2.3', prefixLength: 8 }]), 'invalid_cidr', 'rules[0].when[0].values[0]');
  refuse(f('source.ip', [{ kind: 'cidr', address: '1.2.3.4', prefixLength: 33 }]), 'invalid_cidr', 'rules[0].when[0].values[0]');
  refuse(f('remote.ip', [{ kind: 'cidr', address: '::1', prefixLength: 129 }]), 'invalid_cidr', 'rules[0].when[0].values[0]');
  refuse(f('destination.port', [{ kind: 'port', port: 70000 }]), 'invalid_port', 'rules[0].when[0].values[0]');
  refuse(f('destination.port', [{ kind: 'exact', value: '80' }]), 'unsupported_value', 'rules[0].when[0].values[0]');
  refuse(f('request.headers', [{ kind: 'presence' }]), 'missing_key', 'rules[0].when[0]');
  refuse(f('request.auth.claims', [{ kind: 'presence' }], []), 'missing_key', 'rules[0].when[0]');
});
