// The core's side: regex_check refuses damaged programs with the right status and never
// traps; regex_match runs checked programs over bytes (Istio and seed examples, invalid
// UTF-8, long subjects); many programs live side by side in one core.
import { describe, test, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { compileRegex } from '../../../host/compile/regex/compile-regex.js';
import { RX, RX_CLASS_MAP } from '../../../host/compile/regex/regex-program.js';
import { RegexCore } from './regex-core.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

let core: RegexCore;
beforeAll(() => {
  core = new RegexCore();
});

const Status = { Ok: 0, BadLength: -1, BadMagic: -2, BadFormat: -3, Corrupt: -4 } as const;

function damaged(pattern: string, edit: (bytes: Uint8Array, view: DataView) => void): Uint8Array {
  const p = compileRegex(pattern).program.slice();
  edit(p, new DataView(p.buffer));
  return p;
}

const check = (bytes: Uint8Array) => {
  const [ptr, status] = core.load(bytes);
  core.free(ptr);
  return status;
};

// Runs in a worker with a deadline per case (test/helpers/wasm-deadline.ts): runProgram's
// loop is over the subject, and every index it reads is one regex_check bounded.
const damagedPrograms = wasmProperty(import.meta.url, 'random corruption of compiled programs', () => {
  const rx = new RegexCore();
  const programs = ['.*Chrome.*', '(?i)[a-z]+\\d{2,3}', '^/api/v[0-9]+/.*', '[^a]*é'].map((p) => compileRegex(p).program);
  return [fc.constantFrom(...programs), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 20 }), (prog: Uint8Array, edits: Array<[number, number]>, subject: Uint8Array) => {
    const b = prog.slice();
    for (const [at, v] of edits) b[at % b.length] = v;
    const [ptr, status] = rx.load(b);
    try {
      expect([0, -1, -2, -3, -4]).toContain(status);
      if (status === Status.Ok) expect([0, 1]).toContain(rx.match(ptr, subject));
    } finally {
      rx.free(ptr);
    }
  }];
}, { numRuns: 3000 });

describe('regex_check', () => {
  test('accepts what the compiler writes', () => {
    for (const p of ['', 'a', '.*Chrome.*', '(?i)^jason$', '[^a]{2,5}😀', '^/api/v[0-9]+/.*']) expect(check(compileRegex(p).program), p).toBe(Status.Ok);
  });

  test.each([
    ['shorter than a header', (b: Uint8Array) => b.subarray(0, 100), Status.BadLength],
    ['a wrong magic', () => damaged('abc', (x) => { x[0] = 0; }), Status.BadMagic],
    ['another format version', () => damaged('abc', (_, v) => v.setUint32(RX.FORMAT, 2, true)), Status.BadFormat],
    ['a recorded length that differs', () => damaged('abc', (_, v) => v.setUint32(RX.LENGTH, v.getUint32(RX.LENGTH, true) + 2, true)), Status.BadLength],
    ['a truncated transition table', (b: Uint8Array) => { const c = b.slice(0, b.length - 2); new DataView(c.buffer).setUint32(RX.LENGTH, c.length, true); return c; }, Status.BadLength],
    ['zero states', () => damaged('abc', (_, v) => v.setUint32(RX.STATE_COUNT, 0, true)), Status.Corrupt],
    ['more than 256 classes', () => damaged('abc', (_, v) => v.setUint32(RX.CLASS_COUNT, 257, true)), Status.Corrupt],
    ['a start state out of range', () => damaged('abc', (_, v) => v.setUint32(RX.START, 99, true)), Status.Corrupt],
    ['a moved accept section', () => damaged('abc', (_, v) => v.setUint32(RX.ACCEPT, 300, true)), Status.Corrupt],
    ['a class map entry out of range', () => damaged('abc', (x) => { x[RX_CLASS_MAP + 0x41] = 200; }), Status.Corrupt],
    ['an accept flag other than 0/1', () => damaged('abc', (x, v) => { x[v.getUint32(RX.ACCEPT, true) + 1] = 7; }), Status.Corrupt],
    ['an accepting dead state', () => damaged('abc', (x, v) => { x[v.getUint32(RX.ACCEPT, true)] = 1; }), Status.Corrupt],
    ['a dead state that leads somewhere', () => damaged('abc', (_, v) => v.setUint16(v.getUint32(RX.NEXT, true), 1, true)), Status.Corrupt],
    ['a transition to a state out of range', () => damaged('abc', (_, v) => v.setUint16(v.byteLength - 2, 999, true)), Status.Corrupt],
  ])('refuses %s', (_, make, status) => {
    expect(check(make(compileRegex('abc').program))).toBe(status);
  });

  test('never traps or hangs on damaged programs; what it accepts runs without trapping', () => damagedPrograms.check());
});

describe('regex_match', () => {
  test('answers BadMagic for an address that holds no program', () => {
    const [ptr] = core.load(new Uint8Array(400));
    expect(core.match(ptr, 'abc')).toBe(Status.BadMagic);
    core.free(ptr);
  });

  test("seed 002's user-agent and cookie regexes", () => {
    const chrome = compileRegex('.*Chrome.*').program;
    expect(core.matchAll(chrome, [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      'Chrome',
      'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
      'chrome/1.0',
      '',
    ])).toEqual([1, 1, 0, 0, 0]);
    const cookie = compileRegex('^(.*?;)?(user=packtpub)(;.*)?$').program;
    expect(core.matchAll(cookie, ['user=packtpub', 'a=1; user=packtpub', 'a=1;user=packtpub;b=2', 'user=packtpubx', 'xuser=packtpub'])).toEqual([1, 0, 1, 0, 0]);
  });

  test('typical Istio examples', () => {
    expect(core.matchAll(compileRegex('^/api/v[0-9]+/.*').program, ['/api/v1/', '/api/v42/users/7', '/api/v/x', '/api/v1', '/xapi/v1/'])).toEqual([1, 1, 0, 0, 0]);
    expect(core.matchAll(compileRegex('(?i)^jason$').program, ['jason', 'JASON', 'Jason', 'jason ', 'jaso'])).toEqual([1, 1, 1, 0, 0]);
    expect(core.matchAll(compileRegex('/productpage|/login|/logout|/static/.*').program, ['/login', '/static/css/a.css', '/loginx', '/static'])).toEqual([1, 1, 0, 0]);
    expect(core.matchAll(compileRegex('[a-z0-9-]+\\.example\\.com(:[0-9]+)?').program, ['api.example.com', 'a-1.example.com:8080', 'example.com', 'API.example.com'])).toEqual([1, 1, 0, 0]);
  });

  test('subjects are bytes: `.` and negated classes take whole UTF-8 sequences and nothing else', () => {
    const dot = compileRegex('a.b').program;
    const bytes = (...b: number[]) => Uint8Array.from(b);
    expect(core.matchAll(dot, [
      bytes(0x61, 0xc3, 0xa9, 0x62), // a é b
      bytes(0x61, 0xe2, 0x82, 0xac, 0x62), // a € b
      bytes(0x61, 0xf0, 0x9f, 0x98, 0x80, 0x62), // a 😀 b
      bytes(0x61, 0xff, 0x62), // invalid byte
      bytes(0x61, 0xc3, 0x62), // truncated sequence
      bytes(0x61, 0xc0, 0xaf, 0x62), // overlong '/'
      bytes(0x61, 0xed, 0xa0, 0x80, 0x62), // encoded surrogate
      bytes(0x61, 0x80, 0x62), // lone continuation byte
    ])).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    // A pattern that spells raw bytes out still matches them (\xff is the code point U+00FF: C3 BF).
    expect(core.matchAll(compileRegex('a\\xffb').program, [bytes(0x61, 0xc3, 0xbf, 0x62), bytes(0x61, 0xff, 0x62)])).toEqual([1, 0]);
  });

  test('linear in the subject: a 1 MiB subject against a backtracking-hostile pattern', () => {
    const p = compileRegex('(a+)+b').program;
    const big = 'a'.repeat(1 << 20);
    expect(core.matchAll(p, [big, big + 'b'])).toEqual([0, 1]);
  });
});

describe('many regexes in one core', () => {
  test('1,000 different compiled regexes fit in memory reasonably and each keeps its own answers', () => {
    const patterns = Array.from({ length: 1000 }, (_, i) => [
      `^/api/v${i}/.*`, `(?i).*chrome/${i}\\..*`, `[a-z]+-${i}(-[0-9]+)?`, `/svc${i}/(users|orders)/[0-9]{1,6}`,
    ][i % 4]!);
    const start = performance.now();
    const programs = patterns.map((p) => compileRegex(p).program);
    const compileMs = performance.now() - start;
    const total = programs.reduce((n, p) => n + p.length, 0);
    // Mostly the 256-byte class map and a small table: about 1–2 KiB per regex.
    expect(total).toBeLessThan(4 << 20);
    const loaded = programs.map((p) => core.load(p));
    for (const [, status] of loaded) expect(status).toBe(Status.Ok);
    const subjects = ['/api/v7/x', 'Mozilla CHROME/7.1', 'abc-7', 'abc-7-12', '/svc7/users/123', '/svc7/orders/1234567'];
    loaded.forEach(([ptr], i) => {
      const js = new RegExp(`^(?:${patterns[i]!.replace('(?i)', '')})$`, patterns[i]!.startsWith('(?i)') ? 'iu' : 'u');
      for (const s of subjects) expect(core.match(ptr, s), `${patterns[i]} on ${s}`).toBe(js.test(s) ? 1 : 0);
    });
    for (const [ptr] of loaded) core.free(ptr);
    console.log(`1,000 regexes: ${(total / 1024).toFixed(0)} KiB of programs, compiled in ${compileMs.toFixed(0)} ms`);
  });
});
