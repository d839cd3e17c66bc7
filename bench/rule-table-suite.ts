// The rule-table benchmark (issue 3): route match on one virtual host with 1,000 ordered rules
// mixing regex, header, method, query-parameter and port conditions, for requests that hit the
// first rule, a middle one, the last one, or none after trying them all; and the same table
// with the regexes swapped for exact/prefix conditions, for what the regexes cost.
import { compileRouteTable } from '../host/compile/route-table.js';
import { RouteTable } from '../host/core/route/route-table.js';
import { requestViewOf } from '../host/core/request-view.js';
import { Core } from '../host/core/wasm.js';
import type { BenchRequest } from './mesh-generator.js';
import { generateRuleTable, GATEWAY_PORT, type RuleTable } from './rule-table-generator.js';
import { sink, type BenchCase, type BenchGroup, type BenchSuite } from './runner.js';

export const RULE_COUNT = 1_000;

const KINDS = ['early', 'middle', 'late', 'miss'] as const;

export function ruleTableSuite(): BenchSuite {
  const core = new Core();
  const view = requestViewOf(core);
  // Each case refills the request view only when another case's request is in it, so its
  // loop times match() alone (as in the route suite).
  let inView: BenchRequest | null = null;
  const group = (gen: RuleTable, version: number, what: string): BenchGroup => {
    const bytes = compileRouteTable(gen.mesh, { listenerPort: GATEWAY_PORT });
    const table = RouteTable.load(core, bytes, version);
    const cases: BenchCase[] = KINDS.map((kind) => {
      const req = gen.requests[kind];
      const got = table.matchRequest(req.method, req.path, req.authority, req.headers);
      if (got !== req.expect) throw new Error(`bench: ${RULE_COUNT}-rule table (${what}), ${kind} request matched route ${got}, expected ${req.expect}`);
      return {
        name: `match() ${kind}${req.expect < 0 ? ' (no rule)' : ` → rule ${req.expect}`}`,
        fn: () => {
          if (inView !== req) {
            let err = view.begin(req.method, req.path, req.authority);
            for (let i = 0; err === null && i < req.headers.length; i++) err = view.header(req.headers[i][0], req.headers[i][1]);
            if (err !== null) throw new Error(`bench: request does not fit the request view (${err})`);
            inView = req;
          }
          sink.value += table.match() + 2;
        },
      };
    });
    const c = gen.conditions;
    return {
      title: `match · ${RULE_COUNT.toLocaleString('en-US')} rules, ${what}: ${c.total.toLocaleString('en-US')} conditions, ${c.regex.toLocaleString('en-US')} regex, ${c.header} header (table ${(bytes.length / 1024).toFixed(0)} KiB)`,
      cases,
    };
  };
  const gen = generateRuleTable(RULE_COUNT);
  return {
    title: 'Route match, 1,000-rule table',
    about: [
      `One op = RouteTable.match() on one virtual host holding ${RULE_COUNT.toLocaleString('en-US')} ordered rules (an API gateway's VirtualService).`,
      'Rule i is one of 5 kinds (i % 5): uri regex + header exact; uri prefix + header regex; POST + uri exact + query',
      `regex; (?i) uri regex + withoutHeaders + header prefix; uri prefix + authority regex + port ${GATEWAY_PORT}.`,
      `early/middle/late hit rule 0 / ${gen.requests.middle.expect} / ${gen.requests.late.expect}; miss tries every rule. The second table is the same with each regex`,
      'swapped for an exact/prefix condition, to show what the regexes cost.',
    ].join('\n'),
    groups: [group(gen, 1, 'regex'), group(generateRuleTable(RULE_COUNT, false), 2, 'no regex')],
  };
}
