// Differential property test: the core's evaluator (assembly/authz through its binding) agrees
// with the plain TypeScript reference evaluator of the model (test/helpers/authz-reference.ts)
// on random policy sets and random requests: decision, deciding policy and rule, CUSTOM,
// shadow and AUDIT results.
import { test, expect } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { AuthzTable, EV_DENIED, EV_CUSTOM, EV_AUDIT, EV_SHADOW_ALLOWED, EV_SHADOW_DENIED, type AuthzRequest } from '../../../host/core/authz/authz-table.js';
import { compileAuthorization } from '../../../host/compile/authorization.js';
import type { AuthzAttribute, AuthzField, AuthzPolicy, AuthzRule, AuthzValue } from '../../../host/model/authorization.js';
import { referenceEvaluate } from '../../helpers/authz-reference.js';

const core = new Core();

// Small alphabets, so that random values and random requests often meet.
const word = fc.stringMatching(/^[abAB/.]{0,4}$/);
const seg = fc.constantFrom('a', 'b', 'ab', 'x.y', 'é');
const pathGen = fc.array(fc.constantFrom('a', 'b', 'ab', '', '*', 'A'), { minLength: 0, maxLength: 4 }).map((s) => '/' + s.join('/'));
const stringValue: fc.Arbitrary<AuthzValue> = fc.oneof(
  word.map((value) => ({ kind: 'exact' as const, value })),
  word.map((value) => ({ kind: 'prefix' as const, value })),
  word.map((value) => ({ kind: 'suffix' as const, value })),
  fc.constant({ kind: 'presence' as const }),
);
const templateValue: fc.Arbitrary<AuthzValue> = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '{*}'), { minLength: 0, maxLength: 3 }), fc.boolean())
  .map(([segs, rest]) => ({ kind: 'template' as const, value: '/' + [...segs, ...(rest ? ['{**}'] : [])].join('/') }));
const v4 = fc.tuple(fc.constantFrom(10, 192), fc.constantFrom(0, 1, 168), fc.nat(3), fc.nat(3)).map((o) => o.join('.'));
const v6 = fc.tuple(fc.constantFrom('2001:db8', 'fe80'), fc.constantFrom('0', '1', 'ff'), fc.nat(3)).map(([a, b, c]) => `${a}:${b}::${c}`);
const cidrValue: fc.Arbitrary<AuthzValue> = fc.oneof(
  fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([address, prefixLength]) => ({ kind: 'cidr' as const, address, prefixLength })),
  fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([address, prefixLength]) => ({ kind: 'cidr' as const, address, prefixLength })),
);
const portValue: fc.Arbitrary<AuthzValue> = fc.constantFrom(80, 8080, 9000).map((port) => ({ kind: 'port' as const, port }));

const STRING_ATTRS: AuthzAttribute[] = ['source.principal', 'source.namespace', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'request.host', 'request.method', 'connection.sni'];

function values(attr: AuthzAttribute): fc.Arbitrary<AuthzValue> {
  if (attr === 'source.ip' || attr === 'remote.ip' || attr === 'destination.ip') return cidrValue;
  if (attr === 'destination.port') return portValue;
  if (attr === 'request.path') return fc.oneof(stringValue, templateValue);
  return stringValue;
}

const fieldGen: fc.Arbitrary<AuthzField> = fc
  .constantFrom<AuthzAttribute>(...STRING_ATTRS, 'request.path', 'request.headers', 'request.auth.claims', 'source.ip', 'remote.ip', 'destination.ip', 'destination.port')
  .chain((attribute) =>
    fc.record({
      attribute: fc.constant(attribute),
      values: fc.array(values(attribute), { maxLength: 2 }),
      notValues: fc.array(values(attribute), { maxLength: 2 }),
      key: attribute === 'request.headers' ? fc.constantFrom(['x-a'], ['X-B']) : attribute === 'request.auth.claims' ? fc.constantFrom(['groups'], ['org', 'team']) : fc.constant(undefined),
    }),
  )
  .map((f) => (f.key === undefined ? { attribute: f.attribute, values: f.values, notValues: f.notValues } : f));

const clause = fc.array(fieldGen, { minLength: 1, maxLength: 2 });
const ruleGen: fc.Arbitrary<AuthzRule> = fc.record({ from: fc.array(clause, { maxLength: 2 }), to: fc.array(clause, { maxLength: 2 }), when: fc.array(fieldGen, { maxLength: 2 }) });
const policyGen: fc.Arbitrary<AuthzPolicy> = fc.record({
  name: fc.constantFrom('ns/a', 'ns/b'),
  action: fc.constantFrom('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
  rules: fc.array(ruleGen, { maxLength: 3 }),
  dryRun: fc.boolean(),
  provider: fc.constant(null),
}) as fc.Arbitrary<AuthzPolicy>;

const principal = fc.option(fc.tuple(fc.constantFrom('a', 'b', 'ab'), seg).map(([ns, sa]) => `cluster.local/ns/${ns}/sa/${sa}`), { nil: null });
const requestGen: fc.Arbitrary<AuthzRequest> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'a', 'B'),
  path: fc.tuple(pathGen, fc.constantFrom('', '?q=1', '#f')).map(([p, q]) => p + q),
  authority: fc.stringMatching(/^[abAB.]{0,4}(:80)?$/),
  headers: fc.array(fc.tuple(fc.constantFrom('x-a', 'x-b', 'x-c'), fc.stringMatching(/^[abAB/]{0,3}$/)), { maxLength: 3 }),
  principal,
  sourceIp: fc.option(fc.oneof(v4, v6, v4.map((a) => '::ffff:' + a)), { nil: null }),
  remoteIp: fc.option(fc.oneof(v4, v6), { nil: null }),
  destinationIp: fc.option(v4, { nil: null }),
  destinationPort: fc.option(fc.constantFrom(80, 8080), { nil: null }),
  sni: fc.option(word, { nil: null }),
  auth: fc.option(
    fc.record({
      principal: word,
      audiences: fc.array(word, { maxLength: 2 }),
      presenter: word,
      claims: fc.record({ groups: fc.oneof(word, fc.array(word, { maxLength: 2 }), fc.constant(3)), org: fc.oneof(fc.record({ team: word }), word) }),
    }),
    { nil: null },
  ),
});

test('the core agrees with the reference evaluator on random policies and requests', () => {
  let version = 0;
  fc.assert(
    fc.property(fc.array(policyGen, { maxLength: 5 }), fc.array(requestGen, { minLength: 1, maxLength: 8 }), (policies, requests) => {
      const table = AuthzTable.load(core, compileAuthorization(policies), ++version);
      try {
        for (const r of requests) {
          const bits = table.evaluateRequest(r);
          const ref = referenceEvaluate(policies, r);
          const got = {
            denied: (bits & EV_DENIED) !== 0,
            policy: table.policy(),
            rule: table.policy() < 0 ? -1 : table.rule(),
            custom: (bits & EV_CUSTOM) !== 0 ? table.customPolicy() : -1,
            shadow: (bits & EV_SHADOW_DENIED) !== 0 ? 2 : (bits & EV_SHADOW_ALLOWED) !== 0 ? 1 : 0,
            shadowPolicy: (bits & (EV_SHADOW_DENIED | EV_SHADOW_ALLOWED)) !== 0 ? table.shadowPolicy() : -1,
            audit: (bits & EV_AUDIT) !== 0 ? table.auditPolicy() : -1,
          };
          expect(got, JSON.stringify(r)).toEqual({ ...ref, rule: ref.policy < 0 ? -1 : ref.rule });
        }
      } finally {
        table.release();
      }
    }),
    { numRuns: 600 },
  );
});
