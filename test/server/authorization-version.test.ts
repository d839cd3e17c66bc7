// A version's authorization on a server: nothing without policies, a refused policy set throws
// before anything is loaded, the filter placed after the other listener filters, and
// destination.port for a sidecar's inbound (the app port a request goes to) or the listener.
import { describe, expect, it } from 'vitest';
import { Core } from '../../host/core/wasm.js';
import { listenerFilters } from '../../host/server/http-filters.js';
import { filterDeps } from '../helpers/filter-deps.js';
import { authorityPort, destinationPortFor, loadAuthorization } from '../../host/server/authorization-version.js';
import { AuthzCompileError } from '../../host/compile/authorization.js';
import type { StreamCallbacks } from '../../host/http/stream-callbacks.js';
import { f, rule, policy, tpl, ex } from '../helpers/authz-builders.js';

const core = new Core();
const deps = filterDeps(core, 15006);
const withAuthority = (authority: string) => ({ downstream: { authority } }) as unknown as StreamCallbacks;

describe('loadAuthorization', () => {
  it('is null without policies (no filter at all), the last listener filter with them', () => {
    expect(loadAuthorization(core, undefined, 1, deps, undefined)).toBeNull();
    expect(loadAuthorization(core, [], 1, deps, undefined)).toBeNull();
    const v = loadAuthorization(core, [policy('ns/p', 'DENY', [rule({ to: [[f('request.method', [ex('POST')])]] })])], 1, deps, undefined)!;
    const filters = listenerFilters(deps, undefined, { authorization: v.filter });
    expect(filters.at(-1)).toBe(v.filter);
    expect(filters.length).toBe(listenerFilters(deps).length + 1);
    v.release();
  });

  it('a bad policy set throws its located error', () => {
    expect(() => loadAuthorization(core, [policy('ns/bad', 'DENY', [rule({ to: [[f('request.path', [tpl('/{**}/x')])]] })])], 1, deps, undefined)).toThrow(AuthzCompileError);
  });
});

describe('destination.port', () => {
  it('authorityPort reads the port in place', () => {
    expect(authorityPort('a:8080')).toBe(8080);
    expect(authorityPort('[::1]:9')).toBe(9);
    expect(authorityPort('a')).toBe(-1);
    expect(authorityPort('a:')).toBe(-1);
    expect(authorityPort('a:99999')).toBe(-1);
    expect(authorityPort('::1')).toBe(-1);
    expect(authorityPort('a:8x')).toBe(-1);
  });

  it('the app port a sidecar inbound request goes to, else the listener port', () => {
    const inbound = destinationPortFor([9080, 9090], () => 15006);
    expect(inbound(withAuthority('app:9090'))).toBe(9090);
    expect(inbound(withAuthority('app'))).toBe(9080);
    expect(inbound(withAuthority('app:7777'))).toBe(9080);
    expect(destinationPortFor([5000], () => 15006)(withAuthority('app:9090'))).toBe(5000);
    expect(destinationPortFor(undefined, () => 8443)(withAuthority('app:9090'))).toBe(8443);
  });
});
