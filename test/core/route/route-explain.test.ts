// The core's explanation calls (assembly/route/explain.ts): virtual host, block and condition
// counts, and the position of the first failing condition, on a small hand-written table.
import { afterAll, describe, expect, it } from 'vitest';
import { RouteExplainer } from '../../../host/core/route/route-explain.js';
import { RouteTableError } from '../../../host/core/route/route-table.js';
import { core, load, mesh, vhost, route, match, header, exact, prefix, cluster } from '../../helpers/route-table-builder.js';

const m = mesh([
  vhost('other', ['other'], [route('o/0')]),
  vhost('web', ['web', 'web:8080'], [
    // conditions: uri, method, header x, header y (absent: withoutHeaders)
    route('w/0', [match(prefix('/api'), [header('x', exact('1')), header('y', null, true)], false, { method: exact('POST') })]),
    route('w/1', [match(exact('/a')), match(null, [header('x', null)])]),
    route('w/2', [match(null, [], false, { scheme: exact('https') })]),
    route('w/3'),
  ]),
], [cluster('c0')]);

describe('RouteExplainer', () => {
  const t = load(m);
  const x = new RouteExplainer(core(), t);
  afterAll(() => t.release());

  it('names the virtual host and the block/condition shape the compiler wrote', () => {
    x.setRequest('GET', '/', 'web:8080');
    expect(x.virtualHost()).toBe(1);
    expect(x.route(1).conditionCounts).toEqual([4]);
    expect(x.route(2).conditionCounts).toEqual([1, 1]);
    // A block ruled out by its scheme leaves the never-holding block.
    expect(x.route(3)).toEqual({ holds: false, firstFailing: [0], conditionCounts: [1] });
    expect(x.route(4)).toEqual({ holds: true, firstFailing: [], conditionCounts: [] });
    x.setRequest('GET', '/', 'nowhere');
    expect(x.virtualHost()).toBe(-1);
  });

  it('returns the first failing condition, in the matcher\'s order', () => {
    x.setRequest('GET', '/other', 'web');
    expect(x.route(1).firstFailing).toEqual([0]); // uri
    x.setRequest('GET', '/api/v1', 'web');
    expect(x.route(1).firstFailing).toEqual([1]); // method
    x.setRequest('POST', '/api/v1', 'web', [['x', '2']]);
    expect(x.route(1).firstFailing).toEqual([2]); // header x
    x.setRequest('POST', '/api/v1', 'web', [['x', '1'], ['y', 'z']]);
    expect(x.route(1).firstFailing).toEqual([3]); // withoutHeaders y
    x.setRequest('POST', '/api/v1', 'web', [['x', '1']]);
    expect(x.route(1)).toMatchObject({ holds: true, firstFailing: [-1] });
    expect(x.matchedRoute()).toBe(1);
    x.setRequest('GET', '/b', 'web', [['x', '']]);
    expect(x.route(2)).toMatchObject({ holds: true, firstFailing: [0, -1] });
  });

  it('refuses an index out of range', () => {
    expect(() => x.route(99)).toThrow(RouteTableError);
  });
});
