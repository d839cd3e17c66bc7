// Where Istio's workload policies apply, by listener role: the truth table ProxyServer builds its
// policy filters from (the sidecar runtime and the JWT/authorization tests exercise it end to end).
import { describe, expect, it } from 'vitest';
import { authenticatesRequests, enforcesAuthorization, type ProxyRole } from '../../host/server/proxy-role.js';

describe('ProxyRole', () => {
  it.each([
    ['sidecar-inbound', false, true, true],
    ['sidecar-inbound', true, true, true],
    ['sidecar-outbound', false, false, false],
    ['sidecar-outbound', true, false, false],
    ['proxy', false, true, false],
    ['proxy', true, true, true],
  ] as Array<[ProxyRole, boolean, boolean, boolean]>)('%s (gateway %s): authorization %s, JWT %s', (role, gateway, authz, jwt) => {
    expect(enforcesAuthorization(role)).toBe(authz);
    expect(authenticatesRequests(role, gateway)).toBe(jwt);
  });
});
