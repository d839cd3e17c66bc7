// `wasmesh explain` as typed: the text report for seed 002's jason rule, -o json, and the exit
// codes for bad input (2: usage; 1: a URL, workload or config the command cannot explain).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { main } from '../../host/cli/main.js';
import { fakeIo } from '../helpers/fake-io.js';

const SEED = join(import.meta.dirname, '..', '..', 'examples', '002-bookinfo-rules');
const run = async (...argv: string[]) => {
  const io = fakeIo();
  const code = await main(['explain', ...argv], io);
  return { code, out: io.stdout, err: io.stderr };
};

describe('wasmesh explain', () => {
  it('prints the report: the rule that did not match and why, the destination, endpoint, policies', async () => {
    const r = await run('http://reviews:9080/reviews/1', '--from', 'productpage-v1', '-H', 'end-user: jason', '-H', 'user-agent: Firefox/121', '-f', SEED);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Proxy     sidecar default/productpage-v1 (namespace default, labels app=productpage,version=v1)');
    expect(r.out).toContain('  ✘ VirtualService default/reviews rule 0\n      match[0]: header user-agent "Firefox/121" does not match regex ".*Chrome.*"\n');
    expect(r.out).toContain('  ✔ VirtualService default/reviews rule 1\n      no match conditions: matches every request\n  → route default/reviews/1\n');
    expect(r.out).toContain('  ● reviews.default.svc.cluster.local:9080 subset v1  weight 100 (100%)  ← first pick\n');
    expect(r.out).toContain('  mirror outbound|9080|v3|reviews.default.svc.cluster.local (100%)\n');
    expect(r.out).toMatch(/ {2}→ 127\.0\.0\.1:15211 app=reviews,version=v1/);
    expect(r.out).toContain('  timeout: 2s\n');
    expect(r.out).toContain('  authorization: ✔ ALLOW: no AuthorizationPolicy selects the workload\n');
  });

  it('-o json is the report', async () => {
    const r = await run('-f', SEED, '--from', 'productpage-v1', 'http://reviews:9080/', '-o', 'json', '-H', 'end-user: jason', '-H', 'user-agent: Chrome/120');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.route.name).toBe('default/reviews/0');
    expect(j.destinations[0].subset).toBe('v2');
  });

  it('bad input: usage errors exit 2, an unexplainable request 1, each saying why', async () => {
    expect(await run('-f', SEED)).toMatchObject({ code: 2, err: expect.stringContaining('the request URL is required') });
    expect(await run('http://a/')).toMatchObject({ code: 2, err: expect.stringContaining('-f <file|dir> is required') });
    expect(await run('http://a/', '-f', SEED, '-H', 'nocolon')).toMatchObject({ code: 2, err: expect.stringContaining('expected "name: value"') });
    expect(await run('http://a/', '-f', SEED, '-o', 'yaml')).toMatchObject({ code: 2 });
    expect(await run('http://a/', '-f', SEED, '--xds', '127.0.0.1:15010')).toMatchObject({ code: 2, err: expect.stringContaining('-f and --xds exclude each other') });
    expect(await run('http://a/', '-f', SEED, '--labels', 'app=x')).toMatchObject({ code: 2, err: expect.stringContaining('--labels goes with --xds') });
    expect(await run('not a url', '-f', SEED)).toMatchObject({ code: 1, err: expect.stringContaining('is not an absolute URL') });
    expect(await run('http://reviews/', '-f', SEED, '--from', 'ghost')).toMatchObject({ code: 1, err: expect.stringContaining('--from ghost is not a WorkloadEntry') });
    expect(await run('http://reviews/', '-f', join(SEED, 'nope.yaml'))).toMatchObject({ code: 1 });
  });

  it('--help', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--from <workload|ns/workload>');
  });
});
