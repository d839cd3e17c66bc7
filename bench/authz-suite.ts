// The authorization benchmark: the core's evaluator (assembly/authz) over 1, 100 and 1,000
// AuthorizationPolicies of 10 rules each, for a request denied by the first DENY policy, one
// allowed by the last ALLOW policy's last rule (every policy walked), and one that no ALLOW
// policy matches (denied after walking them all).
import { compileAuthorization } from '../host/compile/authorization.js';
import { AuthzTable, writeAuthzAttributes, namespaceOfPrincipal, EV_DENIED, type AuthzPeer, type AuthzRequest } from '../host/core/authz/authz-table.js';
import { requestViewOf } from '../host/core/request-view.js';
import { Core } from '../host/core/wasm.js';
import type { AuthzPolicy, AuthzRule } from '../host/model/authorization.js';
import { sink, type BenchCase, type BenchGroup, type BenchSuite } from './runner.js';

export const POLICY_COUNTS = [1, 100, 1_000] as const;
export const RULES_PER_POLICY = 10;

/**
 * `count` policies: policy 0 a DENY on 10 admin paths; the others ALLOW, rule j of policy i
 * allowing principal ns<i>/sa<j> to GET or POST /api/v<i>/r<j>* with an x-tenant header.
 * With one policy, it is the ALLOW one.
 */
export function generatePolicies(count: number): AuthzPolicy[] {
  const out: AuthzPolicy[] = [];
  for (let i = 0; i < count; i++) {
    const rules: AuthzRule[] = [];
    const deny = i === 0 && count > 1;
    for (let j = 0; j < RULES_PER_POLICY; j++) {
      rules.push(deny
        ? { from: [], to: [[{ attribute: 'request.path', values: [{ kind: 'prefix', value: `/admin${j}` }], notValues: [] }]], when: [] }
        : {
          from: [[{ attribute: 'source.principal', values: [{ kind: 'exact', value: `cluster.local/ns/ns${i}/sa/sa${j}` }], notValues: [] }]],
          to: [[
            { attribute: 'request.method', values: [{ kind: 'exact', value: 'GET' }, { kind: 'exact', value: 'POST' }], notValues: [] },
            { attribute: 'request.path', values: [{ kind: 'prefix', value: `/api/v${i}/r${j}` }], notValues: [] },
          ]],
          when: [{ attribute: 'request.headers', key: ['x-tenant'], values: [{ kind: 'exact', value: `t${i}` }], notValues: [] }],
        });
    }
    out.push({ name: `bench/p${i}`, action: deny ? 'DENY' : 'ALLOW', rules, dryRun: false, provider: null });
  }
  return out;
}

/** The three requests for `count` policies, with the decision each must get. */
export function benchRequests(count: number): Array<{ kind: string; req: AuthzRequest; denied: boolean }> {
  const last = count - 1;
  const j = RULES_PER_POLICY - 1;
  const base = { method: 'GET', authority: 'svc.bench:8080', sourceIp: '10.1.2.3' };
  const out = [
    { kind: 'allowed by the last rule', req: { ...base, path: `/api/v${last}/r${j}/items?page=2`, principal: `cluster.local/ns/ns${last}/sa/sa${j}`, headers: [['x-tenant', `t${last}`], ['user-agent', 'bench']] as Array<[string, string]> }, denied: false },
    { kind: 'no ALLOW matches', req: { ...base, path: '/api/unknown', principal: 'cluster.local/ns/other/sa/x', headers: [['x-tenant', 'none']] as Array<[string, string]> }, denied: true },
  ];
  if (count > 1) out.unshift({ kind: 'denied by the first DENY', req: { ...base, path: '/admin3/x', principal: 'cluster.local/ns/ns1/sa/sa0', headers: [['x-tenant', 't1']] }, denied: true });
  return out;
}

export function authzSuite(): BenchSuite {
  const core = new Core();
  let inView: AuthzRequest | null = null;
  const fill = (r: AuthzRequest): void => {
    const view = requestViewOf(core);
    let err = view.begin(r.method, r.path, r.authority);
    for (const [n, v] of r.headers ?? []) if (err === null) err = view.header(n, v);
    if (err !== null) throw new Error(`bench: request does not fit the view (${err})`);
  };
  const groups: BenchGroup[] = POLICY_COUNTS.map((count) => {
    const compiled = compileAuthorization(generatePolicies(count));
    const table = AuthzTable.load(core, compiled, count);
    const cases: BenchCase[] = [];
    for (const { kind, req, denied } of benchRequests(count)) {
      const bits = table.evaluateRequest(req);
      if (((bits & EV_DENIED) !== 0) !== denied) throw new Error(`bench: ${count} policies, "${kind}": denied ${(bits & EV_DENIED) !== 0}, expected ${denied}`);
      const peer: AuthzPeer = { principal: req.principal!, namespace: namespaceOfPrincipal(req.principal!) };
      cases.push({
        name: `attributes + evaluate() ${kind}`,
        fn: () => {
          if (inView !== req) {
            fill(req);
            inView = req;
          }
          writeAuthzAttributes(table, peer, req.sourceIp!, req.sourceIp!, null, -1, null, null);
          sink.value += table.evaluate() + 1;
        },
      });
    }
    return { title: `authorization · ${count.toLocaleString('en-US')} ${count === 1 ? 'policy' : 'policies'} × ${RULES_PER_POLICY} rules (table ${(compiled.bytes.length / 1024).toFixed(0)} KiB)`, cases };
  });
  return {
    title: 'Authorization',
    about: [
      'One op = writing the peer principal, namespace and address into the attribute region and',
      'AuthzTable.evaluate() on a request already in the request view (CUSTOM, DENY, ALLOW, shadow and',
      'AUDIT passes). Rules: principal exact, methods GET|POST, path prefix, one header exact; policy 0',
      'is a DENY on 10 path prefixes (with more than one policy), the others ALLOW.',
    ].join('\n'),
    groups,
  };
}
