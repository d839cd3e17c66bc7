// RFC 9113 §8.2–§8.3 checks on decoded request lists: each refusal with its reason, and the
// well-formed shapes (plain, CONNECT, extended CONNECT, trailers) accepted.
import { describe, it, expect } from 'vitest';
import { malformedRequestFields } from '../../../host/listener/http2-core/h2-request-fields.js';

const base = [':method', 'GET', ':scheme', 'https', ':path', '/', ':authority', 'a'];

describe('malformedRequestFields', () => {
  it('accepts requests, CONNECT, extended CONNECT and trailers', () => {
    expect(malformedRequestFields([...base, 'x-a', 'b', 'te', 'trailers'], false)).toBeNull();
    expect(malformedRequestFields([':method', 'CONNECT', ':authority', 'a:443'], false)).toBeNull();
    expect(malformedRequestFields([':method', 'CONNECT', ':protocol', 'websocket', ':scheme', 'https', ':path', '/ws', ':authority', 'a'], false)).toBeNull();
    expect(malformedRequestFields(['grpc-status', '0'], true)).toBeNull();
  });

  it.each([
    [[...base, 'X-A', 'b'], 'invalid_field_name'],
    [[...base, 'x a', 'b'], 'invalid_field_name'],
    [[...base, 'connection', 'close'], 'connection_specific_field'],
    [[...base, 'keep-alive', '1'], 'connection_specific_field'],
    [[...base, 'upgrade', 'h2c'], 'connection_specific_field'],
    [[...base, 'te', 'gzip'], 'te_not_trailers'],
    [[...base, 'x', 'a\rb'], 'invalid_field_value'],
    [[...base, 'x', 'a\0b'], 'invalid_field_value'],
    [[...base, 'x', 'a '], 'invalid_field_value'],
    [[...base, ':path', '/2'], 'duplicate_pseudo_header'],
    [[':method', 'GET', 'x', '1', ':path', '/'], 'pseudo_header_after_field'],
    [[...base, ':status', '200'], 'unknown_pseudo_header'],
    [[':scheme', 'https', ':path', '/'], 'missing_pseudo_header'],
    [[':method', 'GET', ':path', '/'], 'missing_pseudo_header'],
    [[':method', 'GET', ':scheme', 'https', ':path', ''], 'empty_path'],
    [[':method', 'CONNECT', ':authority', 'a', ':path', '/'], 'connect_with_scheme_or_path'],
    [[':method', 'CONNECT'], 'missing_pseudo_header'],
    [[':method', 'GET', ':protocol', 'websocket', ':scheme', 'https', ':path', '/'], 'protocol_without_connect'],
  ])('%j → %s', (raw, why) => {
    expect(malformedRequestFields(raw as string[], false)).toBe(why);
  });

  it('refuses pseudo-headers in trailers', () => {
    expect(malformedRequestFields([':path', '/'], true)).toBe('pseudo_header_in_trailers');
  });
});
