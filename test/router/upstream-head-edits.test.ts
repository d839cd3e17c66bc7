// The per-retry head edit: the first attempt's head (x-envoy-attempt-count: 1, written by the
// core) is sent as is; a retry gets a copy with only that line's value changed.
import { describe, it, expect } from 'vitest';
import { withAttemptCount, withHeaderLines } from '../../host/router/upstream-head-edits.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('withAttemptCount', () => {
  it('replaces the value of the attempt-count line, leaving every other byte and the input alone', () => {
    const first = 'GET /a HTTP/1.1\r\nhost: svc\r\nx-envoy-attempt-count: 1\r\nx-envoy-original-path: /b\r\n\r\n';
    const head = enc(first);
    expect(dec(withAttemptCount(head, 2))).toBe(first.replace('attempt-count: 1', 'attempt-count: 2'));
    expect(dec(withAttemptCount(head, 12))).toBe(first.replace('attempt-count: 1', 'attempt-count: 12'));
    expect(dec(head)).toBe(first);
  });

  it('matches only a whole line (not a value that happens to contain it) and appends when absent', () => {
    const head = 'GET / HTTP/1.1\r\nhost: svc\r\nx-note: x-envoy-attempt-count: 1\r\n\r\n';
    expect(dec(withAttemptCount(enc(head), 3))).toBe(dec(withHeaderLines(enc(head), 'x-envoy-attempt-count: 3\r\n')));
    expect(dec(withAttemptCount(enc(head), 3)).endsWith('x-envoy-attempt-count: 1\r\nx-envoy-attempt-count: 3\r\n\r\n')).toBe(true);
  });
});
