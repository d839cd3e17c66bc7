// Smoke test of the micro-benchmarks: the glue parses what it claims to parse, the suites run
// a tiny iteration count, and the output is sane (finite positive ops/s, machine facts, JSON).
// Not a timed test: no figure is compared with a threshold.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LlhttpRequestParser } from '../../bench/llhttp-parser.js';
import { NodeRequestParser } from '../../bench/node-parser.js';
import { checkParse, LLHTTP, WASMESH_API, WASMESH_CORE } from '../../bench/parser-suite.js';
import { REQUEST_HEADS, SMALL_GET } from '../../bench/request-heads.js';
import { parseArgs, runMicro } from '../../bench/micro.js';
import { generateMesh, ROUTES_PER_HOST } from '../../bench/mesh-generator.js';
import { ROUTE_COUNTS } from '../../bench/route-suite.js';
import { generateRuleTable, GATEWAY_PORT, RULE_KINDS } from '../../bench/rule-table-generator.js';
import { RULE_COUNT } from '../../bench/rule-table-suite.js';
import { ENDPOINT_COUNTS, hashEndpoints, lbMesh } from '../../bench/lb-suite.js';
import { compileRouteTable } from '../../host/compile/route-table.js';
import { RouteTable } from '../../host/core/route/route-table.js';
import { Core, packageRoot } from '../../host/core/wasm.js';
import { abRun, formatAb, variant } from '../../bench/ab-parser.js';

describe('bench glue', () => {
  it('llhttp (undici Wasm) parses every sample head into the expected spans', () => {
    const llhttp = new LlhttpRequestParser();
    for (const sample of REQUEST_HEADS) {
      const head = llhttp.parse(sample.bytes);
      checkParse('llhttp', sample, head);
      expect(head.version).toBe('1.1');
    }
    // Twice in a row: the parser must be back at a message start after each head.
    expect(llhttp.execute(SMALL_GET.bytes)).toBe(0);
    expect(llhttp.execute(SMALL_GET.bytes)).toBe(0);
  });

  it('llhttp reports an error for a malformed head instead of a fast non-parse', () => {
    const llhttp = new LlhttpRequestParser();
    expect(llhttp.execute(Buffer.from('GET / HTTP/1.1\r\nBad Name: x\r\n\r\n'))).not.toBe(0);
  });

  it("Node's parser is reached or explains why not", () => {
    const node = NodeRequestParser.create();
    if (typeof node === 'string') {
      expect(node.length).toBeGreaterThan(0);
      return;
    }
    for (const sample of REQUEST_HEADS) checkParse('node', sample, node.parse(sample.bytes));
    expect(node.execute(Buffer.from('GET / HTTP/1.1\r\nBad Name: x\r\n\r\n'))).toBe(-1);
  });

  it('checkParse rejects a misparse', () => {
    expect(() => checkParse('x', SMALL_GET, { method: 'GET', target: '/', headers: [] })).toThrow(/misparsed/);
  });
});

describe('synthetic meshes', () => {
  it.each(ROUTE_COUNTS)('has exactly %i routes and requests aimed at the routes they name', (count) => {
    const gen = generateMesh(count);
    const routes = gen.mesh.virtualHosts.flatMap((vh) => vh.routes);
    expect(routes.length).toBe(count);
    expect(routes[gen.requests.early.expect]!.name).toMatch(/\/canary$/);
    expect(routes[gen.requests.late.expect]!.name).toMatch(/\/default$/);
    expect(routes[gen.requests.wildcard.expect]!.name).toMatch(/\/static$/);
    expect(gen.requests.late.expect).toBeGreaterThanOrEqual(count - 2 * ROUTES_PER_HOST);
    expect(gen.requests.miss.expect).toBe(-1);
    expect(gen.mesh.virtualHosts.some((vh) => vh.domains.some((d) => d.startsWith('*.')))).toBe(true);
  });

  it('rejects a route count it cannot lay out', () => {
    expect(() => generateMesh(7)).toThrow(/multiple of/);
    expect(() => generateMesh(5)).toThrow(/at least/);
  });
});

describe('1,000-rule table', () => {
  const gen = generateRuleTable(RULE_COUNT);
  const routes = gen.mesh.virtualHosts.flatMap((vh) => vh.routes);

  it('is one virtual host with the rule count, regex and header conditions in every kind', () => {
    expect(gen.mesh.virtualHosts.length).toBe(1);
    expect(routes.length).toBe(RULE_COUNT);
    expect(gen.conditions.regex).toBe(RULE_COUNT); // one regex per rule, whichever kind
    expect(gen.conditions.header).toBe((RULE_COUNT / RULE_KINDS) * 4); // kinds 0, 1: one; kind 3: two
    const kinds = routes.slice(0, RULE_KINDS).map((r) => r.matches[0]!);
    expect(kinds.map((m) => m.uri?.kind)).toEqual(['regex', 'prefix', 'exact', 'regex', 'prefix']);
    expect(kinds[1]!.headers[0]!.match?.kind).toBe('regex');
    expect(kinds[2]!.queryParams![0]!.match?.kind).toBe('regex');
    expect(kinds[3]!.headers.some((h) => h.invert)).toBe(true);
    expect(kinds[4]!).toMatchObject({ port: GATEWAY_PORT, authority: { kind: 'regex' } });
  });

  it('compiles, and each request matches the rule it names in the real core (the suite re-checks before timing)', () => {
    const table = RouteTable.load(new Core(), compileRouteTable(gen.mesh, { listenerPort: GATEWAY_PORT }), 1);
    for (const req of Object.values(gen.requests)) {
      expect(table.matchRequest(req.method, req.path, req.authority, req.headers), req.path).toBe(req.expect);
    }
    expect(gen.requests.late.expect).toBe(RULE_COUNT - 1);
    expect(gen.requests.miss.expect).toBe(-1);
    // The late rule needs the port: on another listener port, with no port in the authority, it misses.
    const other = RouteTable.load(new Core(), compileRouteTable(gen.mesh, { listenerPort: 9090 }), 2);
    const late = gen.requests.late;
    expect(other.matchRequest(late.method, late.path, 'api.example.com', late.headers)).toBe(-1);
  }, 60_000);

  it('without regex: the same shape, no regex condition, and the same requests match the same rules', () => {
    const plain = generateRuleTable(RULE_COUNT, false);
    expect(plain.conditions).toEqual({ ...gen.conditions, regex: 0 });
    const table = RouteTable.load(new Core(), compileRouteTable(plain.mesh, { listenerPort: GATEWAY_PORT }), 3);
    for (const req of Object.values(plain.requests)) {
      expect(table.matchRequest(req.method, req.path, req.authority, req.headers), req.path).toBe(req.expect);
    }
    expect(plain.requests).toEqual(gen.requests);
  }, 60_000);

  it('rejects a rule count it cannot lay out', () => {
    expect(() => generateRuleTable(1001)).toThrow(/multiple of/);
    expect(() => generateRuleTable(5)).toThrow(/at least/);
  });
});

describe('lb meshes', () => {
  it.each(ENDPOINT_COUNTS)('%i endpoints: one cluster per table balancer, distinct hash keys', (n) => {
    const mesh = lbMesh(n);
    expect(mesh.clusters.map((c) => c.lb)).toEqual(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM']);
    for (const c of mesh.clusters) expect(c.endpoints.length).toBe(n);
    const keys = hashEndpoints(n).map((e) => e.key);
    expect(new Set(keys).size).toBe(n);
  });
});

describe('parser A/B tool', () => {
  it('times core variants in alternating rounds and reports ratios to the first', async () => {
    const core = join(packageRoot(), 'build', 'core.wasm');
    const variants = [await variant(`core=${core}`), await variant(`core=${core}`)];
    const rows = abRun(variants, 2, () => 20);
    expect(rows.length).toBe(REQUEST_HEADS.length * 2);
    for (const r of rows) expect(Number.isFinite(r.medianNs) && r.medianNs > 0 && r.bestNs <= r.medianNs).toBe(true);
    expect(rows.filter((r, i) => i % 2 === 0).every((r) => r.ratio === 1 && r.bestRatio === 1)).toBe(true);
    expect(rows.every((r) => Number.isFinite(r.bestRatio) && r.bestRatio > 0)).toBe(true);
    expect(formatAb(rows)).toContain('×1.00');
  });

  it('checks every round: a variant that stops parsing fails the run', () => {
    const broken = { label: 'broken', run: () => 0 };
    expect(() => abRun([broken], 1, () => 5)).toThrow(/misparsed/);
  });

  it('rejects malformed variants', async () => {
    await expect(variant('core')).rejects.toThrow(/bad variant/);
    await expect(variant('x=1')).rejects.toThrow(/not core or api/);
  });
});

describe('bench CLI arguments', () => {
  it('parses --quick, --json and --only, and rejects unknown or incomplete flags', () => {
    expect(parseArgs(['--quick', '--json', 'out.json', '--only', 'Parser'])).toEqual({ quick: true, json: 'out.json', only: 'parser' });
    expect(parseArgs(['--only', 'lb'])).toEqual({ quick: false, json: null, only: 'lb' });
    expect(() => parseArgs(['--json'])).toThrow(/needs a value/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument/);
  });
});

describe('micro-benchmark smoke run', () => {
  it('runs every suite briefly and reports sane figures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-bench-'));
    const json = join(dir, 'out.json');
    let text = '';
    const report = runMicro({ quick: true, json, only: null }, (t) => (text += t + '\n'), ['--quick'], { maxTime: 0.005, minSamples: 1 });
    expect(text).toMatch(/^# wasmesh micro-benchmarks/);
    expect(text).toMatch(/cpu\s+\S/);
    expect(text).toContain(process.version);
    expect(text).toContain('(sink ok)');
    const names = new Set(report.cases.map((c) => c.name));
    for (const n of [
      WASMESH_CORE, WASMESH_API, LLHTTP, 'match() late → route 9994', 'pickCluster 80/20',
      'match() early → rule 0', 'match() late → rule 999', 'match() miss (no rule)',
      'ROUND_ROBIN', 'LEAST_REQUEST (P2C)', 'RANDOM', 'ring hash: pickKey(bytes)', 'maglev: lookup (pickHalves)',
      'consume: one bucket', 'per-descriptor: 1,000 values round robin (1,000-entry table)',
    ]) expect(names, n).toContain(n);
    for (const title of ['Request-head parser', 'Route match', 'Route match, 1,000-rule table', 'Weighted pick', 'Load balancer pick', 'Local rate limit']) expect(text).toContain(`## ${title}`);
    for (const n of ENDPOINT_COUNTS) expect(report.cases.filter((c) => c.group.startsWith(`lb pick · ${n} endpoints`)).length).toBe(11);
    expect(report.cases.filter((c) => c.suite === 'Route match, 1,000-rule table').length).toBe(8);
    for (const c of report.cases) {
      expect(c.error, `${c.group} / ${c.name}`).toBeUndefined();
      expect(Number.isFinite(c.hz) && c.hz > 0, `${c.group} / ${c.name}: ${c.hz}`).toBe(true);
      expect(text).toContain(c.name);
    }
    for (const r of report.ratios) expect(Number.isFinite(r.ratio) && r.ratio > 0).toBe(true);
    const saved = JSON.parse(readFileSync(json, 'utf8')) as typeof report;
    expect(saved.cases.length).toBe(report.cases.length);
    expect(saved.machine.node).toBe(process.version);
    // Every suite's setup included (compiling 10,000 routes and 1,000 regexes): slow on a busy machine.
  }, 120_000);
});
