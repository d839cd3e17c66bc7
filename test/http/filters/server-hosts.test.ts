// The gateway port's Host check (host/http/filters/server-hosts.ts), with its one-entry memo of the
// last authority and host list: the answer follows both, request after request, whatever came
// before (a memo keyed on the authority alone would serve a host the next SNI server does not claim).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { serverHostsFilter, hostInServer } from '../../../host/http/filters/server-hosts.js';
import { FilterStatus } from '../../../host/http/filter.js';
import type { StreamCallbacks } from '../../../host/http/stream-callbacks.js';
import type { GatewayListener } from '../../../host/model/gateway-listener.js';

function request(authority: string, serverHosts?: readonly string[]) {
  const replies: string[] = [];
  const stream = {
    downstream: { authority, security: serverHosts === undefined ? null : { serverHosts } },
    sendLocalReply: (status: string) => replies.push(status),
  } as unknown as StreamCallbacks;
  return { stream, replies };
}

const plain = { port: 80, tls: false, servers: [{ hosts: ['a.example.com', '*.wild.io'] }] } as unknown as GatewayListener;
const tls = { port: 443, tls: true, servers: [{ hosts: ['a.example.com'] }, { hosts: ['b.example.com'] }] } as unknown as GatewayListener;

describe('serverHostsFilter', () => {
  it('plaintext port: a Host of any of the port\'s servers passes, others get 404 NR, request after request', () => {
    const f = serverHostsFilter(plain);
    const seq: Array<[string, boolean]> = [['a.example.com:80', true], ['a.example.com:80', true], ['B.example.com', false], ['x.wild.io', true], ['A.EXAMPLE.COM', true], ['nope', false], ['nope', false]];
    for (const [authority, ok] of seq) {
      const { stream, replies } = request(authority);
      expect(f.onRequestHeaders!(stream)).toBe(ok ? FilterStatus.Continue : FilterStatus.StopIteration);
      expect(replies).toEqual(ok ? [] : ['404 Not Found']);
    }
  });

  it('TLS port: the same Host is judged against the server each connection\'s SNI chose', () => {
    const f = serverHostsFilter(tls);
    const a = tls.servers[0]!.hosts;
    const b = tls.servers[1]!.hosts;
    const answer = (authority: string, hosts?: readonly string[]) => f.onRequestHeaders!(request(authority, hosts).stream);
    expect(answer('a.example.com', a)).toBe(FilterStatus.Continue);
    expect(answer('a.example.com', b)).toBe(FilterStatus.StopIteration);
    expect(answer('a.example.com', a)).toBe(FilterStatus.Continue);
    // No server chosen (no SNI match) on a TLS port: nothing served.
    expect(answer('a.example.com')).toBe(FilterStatus.StopIteration);
  });

  it('any sequence: each answer is what a fresh filter gives (property)', () => {
    const authorities = ['a.example.com', 'a.example.com:8080', 'A.Example.Com', 'x.wild.io', 'wild.io', 'b.example.com', '[::1]:80', ''];
    const hostLists: Array<readonly string[] | undefined> = [undefined, tls.servers[0]!.hosts, tls.servers[1]!.hosts];
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...authorities), fc.constantFrom(...hostLists), fc.boolean()), { maxLength: 30 }), (reqs) => {
      const memoPlain = serverHostsFilter(plain);
      const memoTls = serverHostsFilter(tls);
      for (const [authority, hosts, onTls] of reqs) {
        const f = onTls ? memoTls : memoPlain;
        const fresh = serverHostsFilter(onTls ? tls : plain);
        const got = f.onRequestHeaders!(request(authority, onTls ? hosts : undefined).stream);
        const want = fresh.onRequestHeaders!(request(authority, onTls ? hosts : undefined).stream);
        expect(got).toBe(want);
      }
    }));
  });

  it('hostInServer: exact, *.suffix (one label or more), *', () => {
    expect(hostInServer('a.b.wild.io', ['*.wild.io'])).toBe(true);
    expect(hostInServer('wild.io', ['*.wild.io'])).toBe(false);
    expect(hostInServer('anything', ['*'])).toBe(true);
  });
});
