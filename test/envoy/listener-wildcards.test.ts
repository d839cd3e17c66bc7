import { describe, expect, it } from 'vitest';
import { withOtherWildcards } from '../../host/envoy/listener-wildcards.js';

const at = (address: string, port: number) => ({ name: 'l', address: { socket_address: { address, port_value: port } } });

describe('withOtherWildcards', () => {
  it('a listener on the first wildcard of a dual-stack pod also binds the others, on its port', () => {
    expect(withOtherWildcards(at('0.0.0.0', 8080), ['0.0.0.0', '::'])).toEqual({
      ...at('0.0.0.0', 8080),
      additional_addresses: [{ address: { socket_address: { address: '::', port_value: 8080 } } }],
    });
  });

  it('leaves alone: a one-family pod, a listener bound elsewhere (a Gateway bind, a loopback), one that has additional addresses already', () => {
    expect(withOtherWildcards(at('0.0.0.0', 80), ['0.0.0.0'])).toEqual(at('0.0.0.0', 80));
    expect(withOtherWildcards(at('::', 80), ['::'])).toEqual(at('::', 80));
    expect(withOtherWildcards(at('127.0.0.1', 80), ['0.0.0.0', '::'])).toEqual(at('127.0.0.1', 80));
    const already = { ...at('0.0.0.0', 80), additional_addresses: [{ address: { socket_address: { address: '::1', port_value: 80 } } }] };
    expect(withOtherWildcards(already, ['0.0.0.0', '::'])).toBe(already);
    const pipe = { name: 'p', address: { pipe: { path: '/tmp/s' } } };
    expect(withOtherWildcards(pipe, ['0.0.0.0', '::'])).toBe(pipe);
  });
});
