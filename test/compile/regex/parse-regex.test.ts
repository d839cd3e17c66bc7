// The regex compiler's front end: what RE2 syntax it accepts, and what it refuses with which
// stable code at which position.
import { describe, test, expect } from 'vitest';
import { compileRegex } from '../../../host/compile/regex/compile-regex.js';
import { RegexCompileError } from '../../../host/compile/regex/regex-compile-error.js';
import { runRegexProgram } from '../../../host/compile/regex/regex-program.js';

const enc = new TextEncoder();
const full = (pattern: string, subject: string) => runRegexProgram(compileRegex(pattern).program, enc.encode(subject));

function refusal(pattern: string): RegexCompileError {
  try {
    compileRegex(pattern);
  } catch (e) {
    if (e instanceof RegexCompileError) return e;
    throw e;
  }
  throw new Error(`compileRegex(${JSON.stringify(pattern)}) did not throw`);
}

describe('refusals', () => {
  test.each([
    // pattern, code, position, words the message must hold
    ['(a)\\1', 'unsupported_regex', 3, 'backreference'],
    ['a(?=b)', 'unsupported_regex', 1, 'lookaround'],
    ['a(?!b)', 'unsupported_regex', 1, 'lookaround'],
    ['(?<=a)b', 'unsupported_regex', 0, 'lookaround'],
    ['(?<!a)b', 'unsupported_regex', 0, 'lookaround'],
    ['x\\bfoo', 'unsupported_regex', 1, 'word boundary'],
    ['\\B', 'unsupported_regex', 0, 'word boundary'],
    ['\\p{Greek}', 'unsupported_regex', 0, 'Unicode class'],
    ['ab\\PL', 'unsupported_regex', 2, 'Unicode class'],
    ['(?m)^a$', 'unsupported_regex', 2, 'multiline'],
    ['\\C', 'unsupported_regex', 0, 'any byte'],
    ['\\07', 'unsupported_regex', 0, 'octal'],
    ['a{1001}', 'regex_too_large', 1, '1000'],
    ['a{2,1001}', 'regex_too_large', 1, '1000'],
    ['(ab', 'invalid_regex', 0, 'missing `)`'],
    ['ab)', 'invalid_regex', 2, 'unmatched `)`'],
    ['[abc', 'invalid_regex', 0, 'missing `]`'],
    ['x[z-a]', 'invalid_regex', 2, 'reversed'],
    ['*a', 'invalid_regex', 0, 'missing argument'],
    ['a|+', 'invalid_regex', 2, 'missing argument'],
    ['a**', 'invalid_regex', 2, 'bad repetition'],
    ['a{2}{3}', 'invalid_regex', 4, 'bad repetition'],
    ['a{3,2}', 'invalid_regex', 1, 'maximum below'],
    ['abc\\', 'invalid_regex', 3, 'trailing backslash'],
    ['\\xZZ', 'invalid_regex', 0, 'hex escape'],
    ['\\x{110000}', 'invalid_regex', 0, 'U+10FFFF'],
    ['\\q', 'invalid_regex', 0, 'invalid escape'],
    ['[[:bogus:]]', 'invalid_regex', 1, 'POSIX class'],
    ['(?x)a', 'invalid_regex', 2, 'unknown flag'],
    ['(?P<1a', 'invalid_regex', 0, 'named group'],
    ['(?)', 'invalid_regex', 0, 'empty flag group'],
  ])('%s → %s at %i', (pattern, code, position, words) => {
    const e = refusal(pattern);
    expect(e.code).toBe(code);
    expect(e.position).toBe(position);
    expect(e.message).toContain(words);
    expect(e.message).toContain(JSON.stringify(pattern));
    expect(e.message).toContain(`offset ${position}`);
  });

  test('an automaton above the DFA state cap is regex_too_large, without a position', () => {
    // (a|b)*a(a|b){12} needs 2^13 states: the classic exponential blow-up.
    const e = refusal('(a|b)*a(a|b){12}');
    expect(e.code).toBe('regex_too_large');
    expect(e.position).toBe(-1);
    expect(e.message).toMatch(/more than 4096 DFA states/);
    // One repetition less fits.
    expect(compileRegex('(a|b)*a(a|b){10}').stateCount).toBeLessThanOrEqual(4096);
  });

  test('positions count UTF-16 code units of the pattern', () => {
    expect(refusal('😀é\\1').position).toBe(3);
  });
});

describe('accepted syntax (full match)', () => {
  test.each([
    // pattern, subject, match?
    ['abc', 'abc', true], ['abc', 'abcd', false], ['abc', 'xabc', false],
    ['a.c', 'a-c', true], ['a.c', 'a\nc', false], ['(?s)a.c', 'a\nc', true],
    ['\\d+', '0129', true], ['\\d+', '12a', false], ['\\D', 'x', true], ['\\D', '5', false],
    ['\\w+', 'ab_9Z', true], ['\\w', '-', false], ['\\W', '-', true],
    ['\\s', ' ', true], ['\\s', '\t', true], ['\\s', '\v', false], ['\\S', 'a', true],
    ['\\.', '.', true], ['\\.', 'a', false], ['\\/\\-\\[\\]\\{\\}\\(\\)\\*\\+\\?\\|\\^\\$\\\\', '/-[]{}()*+?|^$\\', true],
    ['\\t\\n\\r\\f\\v\\a', '\t\n\r\f\v\x07', true], ['\\x41\\x{1F600}', 'A😀', true],
    ['[a-z0-9_-]+', 'ab-9_', true], ['[a-z0-9_-]+', 'aB', false], ['[^a-z]', 'A', true], ['[^a-z]', 'q', false],
    ['[]a]+', ']a]', true], ['[^]a]', 'b', true], ['[^]a]', ']', false], ['[a-]', '-', true],
    ['[\\d\\s]+', '1 2', true], ['[^\\d]', '5', false], ['[[:alpha:][:digit:]]+', 'aZ9', true], ['[[:^alpha:]]', 'a', false],
    ['^abc$', 'abc', true], ['\\Aabc\\z', 'abc', true], ['a^b', 'ab', false], ['a$|b', 'a', true], ['(^|x)a', 'a', true], ['(^|x)a', 'xa', true],
    ['(?:ab)+', 'ababab', true], ['(ab)+', 'aba', false], ['(?P<v>v[0-9])', 'v1', true], ['(?<v>v[0-9])', 'v1', true],
    ['a|b|', '', true], ['()', '', true], ['a*', '', true], ['a+', '', false], ['a?', 'a', true],
    ['a{3}', 'aaa', true], ['a{3}', 'aa', false], ['a{2,}', 'aaaaa', true], ['a{2,}', 'a', false], ['a{2,4}', 'aaaaa', false],
    ['a*?b+?c??d{1,2}?', 'aabbd', true], ['(?U)a+b', 'aab', true],
    ['a{', 'a{', true], ['a{,3}', 'a{,3}', true], ['x{1', 'x{1', true],
    ['\\Qa.b*\\E', 'a.b*', true], ['\\Qa.b*\\E', 'aXb', false], ['\\Qab', 'ab', true],
    ['(?i)jason', 'JASON', true], ['(?i:ab)c', 'ABc', true], ['(?i:ab)c', 'ABC', false], ['a(?i)b|c', 'C', true], ['(?i)a(?-i)b', 'Ab', true], ['(?i)a(?-i)b', 'AB', false],
    ['(?i)[a-c]+', 'AbC', true], ['(?i)[^a]', 'A', false], ['(?i)k', '\u212a', true], ['(?i)\\w', '\u017f', true], ['(?i)\\W', '\u017f', false],
    ['(?i)σ', 'ς', true], ['(?i)i', '\u0131', false], ['(?i)é', 'É', true],
    ['.', 'é', true], ['.', '😀', true], ['..', '😀', false], ['[^a]', '€', true], ['[é-ë]+', 'éêë', true], ['[é-ë]', 'è', false],
    ['😀+', '😀😀', true], ['[😀-😂]', '😁', true],
  ] as Array<[string, string, boolean]>)('%s on %j → %s', (pattern, subject, want) => {
    expect(full(pattern, subject)).toBe(want);
  });
});

describe('sizes', () => {
  test('byte classes shrink the table: a literal path has few classes', () => {
    const r = compileRegex('/api/v1/users');
    expect(r.classCount).toBeLessThanOrEqual(12);
    expect(r.stateCount).toBe(15); // dead + 13 bytes + the state after the last byte... minimised
  });
  test('the minimiser merges equivalent states: (a|a)* is two states (dead, loop)', () => {
    expect(compileRegex('(a|a)*').stateCount).toBe(2);
    expect(compileRegex('a*a*a*').stateCount).toBe(2);
  });
});

describe('case folding', () => {
  test('the ASCII fast path agrees with the Unicode fold orbits', async () => {
    const { caseFold, foldOrbit, normalize } = await import('../../../host/compile/regex/code-point-set.js');
    for (let c = 0; c < 0x80; c++) {
      expect(caseFold([[c, c]]), `U+${c.toString(16)}`).toEqual(normalize(foldOrbit(c).map((x) => [x, x] as const)));
    }
  });
  test('orbits: Kelvin sign with k, long s with s, final sigma with sigma, dotless i alone', async () => {
    const { foldOrbit } = await import('../../../host/compile/regex/code-point-set.js');
    expect(foldOrbit(0x6b)).toEqual([0x4b, 0x6b, 0x212a]);
    expect(foldOrbit(0x73)).toEqual([0x53, 0x73, 0x17f]);
    expect(foldOrbit(0x3c2)).toEqual([0x3a3, 0x3c2, 0x3c3]);
    expect(foldOrbit(0x131)).toEqual([0x131]);
  });
});
