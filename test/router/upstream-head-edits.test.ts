// The per-retry head edit: the first attempt's head (x-envoy-attempt-count: 1, written by the
// core) is sent as is; a retry gets a copy with only that line's value changed.
import { describe, it, expect } from 'vitest';
import { withAttemptCount, withHeaderLines, withReplacedLastLines } from '../../host/router/upstream-head-edits.js';

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

describe('withReplacedLastLines', () => {
  const lines = (id: string) => ({
    headLinesLength: () => `x-b3-spanid: ${id}\r\n`.length,
    writeHeadLines(out: Uint8Array, at: number): number {
      const l = enc(`x-b3-spanid: ${id}\r\n`);
      out.set(l, at);
      return at + l.length;
    },
  });

  it('overwrites the head\'s last lines in a copy (a retry\'s propagation lines over the first attempt\'s)', () => {
    const first = 'GET / HTTP/1.1\r\nhost: svc\r\nx-envoy-attempt-count: 1\r\nx-b3-spanid: 1111111111111111\r\n\r\n';
    const head = enc(first);
    expect(dec(withReplacedLastLines(head, lines('2222222222222222')))).toBe(first.replace('1111111111111111', '2222222222222222'));
    expect(dec(head)).toBe(first);
  });

  it('refuses lines that do not start a line where they would go, or a head without its blank line', () => {
    expect(() => withReplacedLastLines(enc('GET / HTTP/1.1\r\nhost: svc\r\nx-b3-spanid: 11\r\n\r\n'), lines('2222222222222222'))).toThrow(/do not start a line/);
    expect(() => withReplacedLastLines(enc('GET / HTTP/1.1\r\nhost: svc'), lines('2'))).toThrow(/CRLF CRLF/);
  });
});
