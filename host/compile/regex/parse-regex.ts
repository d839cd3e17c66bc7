// Parses RE2 syntax (the dialect of Envoy's safe_regex and Istio's `regex` matches) into a
// RegexNode, refusing with a positioned RegexCompileError what this engine does not run.
//
// Decisions (the byte-level ones are also written atop assembly/regex/program.ts):
// - Perl classes are ASCII, as in RE2: \d [0-9], \w [0-9A-Za-z_], \s [\t\n\f\r ].
// - `.` is any code point but \n ((?s): any code point). Code points, not bytes: the byte
//   compiler lowers sets to UTF-8, so `.` and negated classes consume one whole UTF-8 sequence.
// - Flags i, s, U are accepted as (?flags), (?flags:re) and (?-flags); U (ungreedy) and lazy
//   quantifiers do not change a full-match yes/no. m (multiline) is refused.
// - Refused (unsupported_regex): backreferences \1-\9, lookaround, \b \B, \p \P, \C, octal,
//   (?m); the same RE2 rejects (backreferences, lookaround) or that need context a byte DFA
//   of one subject does not track.
import { RegexCompileError } from './regex-compile-error.js';
import type { RegexNode } from './regex-ast.js';
import { MAX_REPEAT } from './regex-ast.js';
import { type CodeRange, normalize, complement, caseFold, MAX_CODE_POINT } from './code-point-set.js';

interface Flags {
  i: boolean;
  s: boolean;
}

const DIGIT: CodeRange[] = [[0x30, 0x39]];
const WORD: CodeRange[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const SPACE: CodeRange[] = [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]];

/** POSIX classes inside brackets ([[:alpha:]]), ASCII as RE2 defines them. */
const POSIX: Record<string, CodeRange[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

/** Escapes of single code points: \t \n ... */
const CONTROL_ESCAPES: Record<string, number> = { a: 0x07, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b };

/** Punctuation that may be escaped to stand for itself (RE2: any ASCII punctuation). */
const isPunct = (c: number) => (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);

class Parser {
  readonly #p: string;
  #i = 0;

  constructor(pattern: string) {
    this.#p = pattern;
  }

  fail(code: 'unsupported_regex' | 'invalid_regex' | 'regex_too_large', at: number, reason: string): never {
    throw new RegexCompileError(code, this.#p, at, reason);
  }

  get done(): boolean {
    return this.#i >= this.#p.length;
  }

  /** The code point at the cursor (not consumed), or -1 at the end. */
  peek(): number {
    return this.done ? -1 : this.#p.codePointAt(this.#i)!;
  }

  next(): number {
    const c = this.peek();
    this.#i += c > 0xffff ? 2 : 1;
    return c;
  }

  lookingAt(s: string): boolean {
    return this.#p.startsWith(s, this.#i);
  }

  get pos(): number {
    return this.#i;
  }

  parse(): RegexNode {
    const node = this.alternation({ i: false, s: false }, 0);
    if (!this.done) this.fail('invalid_regex', this.#i, 'unmatched `)`');
    return node;
  }

  /** re ('|' re)*, up to an unconsumed `)` or the end. */
  alternation(flags: Flags, depth: number): RegexNode {
    if (depth > 1000) this.fail('regex_too_large', this.#i, 'groups nested more than 1000 deep');
    const items: RegexNode[] = [];
    // (?flags) changes flags to the end of the enclosing group, across `|` too.
    const f: Flags = { ...flags };
    for (;;) {
      items.push(this.concatenation(f, depth));
      if (this.peek() !== 0x7c) break; // |
      this.next();
    }
    return items.length === 1 ? items[0]! : { type: 'alt', items };
  }

  concatenation(f: Flags, depth: number): RegexNode {
    const items: RegexNode[] = [];
    while (!this.done && this.peek() !== 0x7c && this.peek() !== 0x29) {
      const atom = this.atom(f, depth);
      if (atom === null) continue; // a flag group (?i): no node
      items.push(this.quantified(atom));
    }
    if (items.length === 0) return { type: 'empty' };
    return items.length === 1 ? items[0]! : { type: 'concat', items };
  }

  quantified(atom: RegexNode): RegexNode {
    let node = atom;
    let quantified = false;
    for (;;) {
      const at = this.#i;
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === 0x2a) [min, max] = [0, -1]; // *
      else if (c === 0x2b) [min, max] = [1, -1]; // +
      else if (c === 0x3f) [min, max] = [0, 1]; // ?
      else if (c === 0x7b) { // {
        const r = this.braces();
        if (r === null) return node; // not a repetition: `{` is a literal (RE2)
        [min, max] = r;
      } else return node;
      if (quantified) this.fail('invalid_regex', at, `bad repetition operator \`${this.#p.slice(at, this.#i + 1)}\` (a quantifier may not follow another)`);
      if (c !== 0x7b) this.next();
      if (this.peek() === 0x3f) this.next(); // lazy: same yes/no for a full match
      node = { type: 'repeat', item: node, min, max };
      quantified = true;
    }
  }

  /** {n} {n,} {n,m} at the cursor, consumed; null (nothing consumed) when it is not one. */
  braces(): [number, number] | null {
    const m = /^\{([0-9]+)(,([0-9]*))?\}/.exec(this.#p.slice(this.#i));
    if (!m) return null;
    const at = this.#i;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT) this.fail('regex_too_large', at, `repetition \`${m[0]}\` exceeds ${MAX_REPEAT} (RE2's limit)`);
    if (max !== -1 && max < min) this.fail('invalid_regex', at, `repetition \`${m[0]}\` has its maximum below its minimum`);
    this.#i += m[0].length;
    return [min, max];
  }

  /** One atom, or null for a flag-only group. */
  atom(f: Flags, depth: number): RegexNode | null {
    const at = this.#i;
    const c = this.next();
    switch (c) {
      case 0x28: return this.group(f, depth, at); // (
      case 0x5b: return this.set(this.bracket(f, at)); // [
      case 0x2e: return this.set(f.s ? [[0, MAX_CODE_POINT]] : [[0, 0x09], [0x0b, MAX_CODE_POINT]]); // .
      case 0x5e: return { type: 'assert', kind: 'begin' }; // ^
      case 0x24: return { type: 'assert', kind: 'end' }; // $
      case 0x2a: case 0x2b: case 0x3f: // * + ?
        return this.fail('invalid_regex', at, `missing argument to repetition operator \`${String.fromCodePoint(c)}\``);
      case 0x5c: { // backslash
        if (this.lookingAt('A')) { this.next(); return { type: 'assert', kind: 'begin' }; }
        if (this.lookingAt('z')) { this.next(); return { type: 'assert', kind: 'end' }; }
        if (this.lookingAt('Q')) return this.quoted(f);
        return this.set(this.escape(at, false, f), f);
      }
      default:
        return this.set([[c, c]], f);
    }
  }

  set(ranges: CodeRange[], f?: Flags): RegexNode {
    return { type: 'set', ranges: f?.i ? caseFold(normalize(ranges)) : normalize(ranges) };
  }

  /** \Q...\E: literal text up to \E or the end. */
  quoted(f: Flags): RegexNode {
    this.next(); // Q
    const items: RegexNode[] = [];
    while (!this.done && !this.lookingAt('\\E')) {
      const c = this.next();
      items.push(this.set([[c, c]], f));
    }
    if (this.lookingAt('\\E')) this.#i += 2;
    return items.length === 0 ? { type: 'empty' } : items.length === 1 ? items[0]! : { type: 'concat', items };
  }

  group(f: Flags, depth: number, at: number): RegexNode | null {
    let inner: Flags = f;
    if (this.lookingAt('?')) {
      this.next();
      if (this.lookingAt('=') || this.lookingAt('!') || this.lookingAt('<=') || this.lookingAt('<!')) {
        this.fail('unsupported_regex', at, 'lookaround `(?=`, `(?!`, `(?<=`, `(?<!` is not supported (RE2 rejects it too)');
      }
      if (this.lookingAt('P<') || this.lookingAt('<')) {
        // Named group: accepted; the name is checked and dropped (nothing captures).
        this.#i += this.lookingAt('P<') ? 2 : 1;
        const m = /^([A-Za-z0-9_]+)>/.exec(this.#p.slice(this.#i));
        if (!m) this.fail('invalid_regex', at, 'named group without a valid `name>`');
        this.#i += m[0].length;
      } else {
        // Flags: (?i) (?-i) (?i:...) (?is-U:...)
        const next: Flags = { ...f };
        let negate = false;
        let sawFlag = false;
        for (;;) {
          const fat = this.#i;
          const c = this.next();
          if (c === -1) this.fail('invalid_regex', at, 'unterminated group `(?`');
          if (c === 0x69 || c === 0x73 || c === 0x55) { // i s U
            if (c === 0x69) next.i = !negate;
            if (c === 0x73) next.s = !negate;
            sawFlag = true;
          } else if (c === 0x6d) { // m
            this.fail('unsupported_regex', fat, 'the multiline flag `m` is not supported (a matched value is one line: use ^ and $ as text anchors)');
          } else if (c === 0x2d) { // -
            if (negate) this.fail('invalid_regex', fat, 'flag group with two `-`');
            negate = true;
            sawFlag = false;
          } else if (c === 0x29 || c === 0x3a) { // ) :
            if (negate && !sawFlag) this.fail('invalid_regex', fat, 'flag group ends right after `-`');
            if (c === 0x29 && !sawFlag && !negate) this.fail('invalid_regex', at, 'empty flag group `(?)`');
            if (c === 0x29) {
              // (?flags): applies to the rest of the enclosing group.
              f.i = next.i;
              f.s = next.s;
              return null;
            }
            inner = next;
            break;
          } else {
            this.fail('invalid_regex', fat, `unknown flag or group syntax \`(?${String.fromCodePoint(c)}\``);
          }
        }
      }
    }
    const node = this.alternation(inner, depth + 1);
    if (this.peek() !== 0x29) this.fail('invalid_regex', at, 'missing `)` for the group opened here');
    this.next();
    return node;
  }

  /** Body of [...] after the `[`; returns the final (folded, negated) set. */
  bracket(f: Flags, at: number): CodeRange[] {
    let negated = false;
    if (this.peek() === 0x5e) {
      this.next();
      negated = true;
    }
    const ranges: CodeRange[] = [];
    let first = true;
    for (;;) {
      const iat = this.#i;
      const c = this.peek();
      if (c === -1) this.fail('invalid_regex', at, 'missing `]` for the class opened here');
      if (c === 0x5d && !first) { // ]
        this.next();
        break;
      }
      first = false;
      if (this.lookingAt('[:')) {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.#p.slice(this.#i));
        if (m) {
          const cls = POSIX[m[2]!];
          if (!cls) this.fail('invalid_regex', iat, `unknown POSIX class \`${m[0]}\``);
          ranges.push(...(m[1] ? complement(f.i ? caseFold(normalize(cls)) : normalize(cls)) : cls));
          this.#i += m[0].length;
          continue;
        }
      }
      const lo = this.classAtom(iat, f);
      if (lo.length !== 1 || lo[0]![0] !== lo[0]![1]) {
        ranges.push(...lo); // \d etc.
        continue;
      }
      if (this.peek() === 0x2d && !this.lookingAt('-]')) { // a range a-z
        this.next();
        const hat = this.#i;
        if (this.peek() === -1) this.fail('invalid_regex', at, 'missing `]` for the class opened here');
        const hi = this.classAtom(hat, f);
        if (hi.length !== 1 || hi[0]![0] !== hi[0]![1]) this.fail('invalid_regex', hat, 'a class range must end in a single character, not a class escape');
        if (hi[0]![0] < lo[0]![0]) this.fail('invalid_regex', iat, `class range \`${this.#p.slice(iat, this.#i)}\` is reversed`);
        ranges.push([lo[0]![0], hi[0]![0]]);
      } else {
        ranges.push(lo[0]!);
      }
    }
    // Fold first, then negate: (?i)[^k] excludes K and the Kelvin sign too (as RE2 does).
    let set = normalize(ranges);
    if (f.i) set = caseFold(set);
    return negated ? complement(set) : set;
  }

  /** One character of a class (a single-point range) or a class escape (\d ...). */
  classAtom(at: number, f: Flags): CodeRange[] {
    const c = this.next();
    if (c === 0x5c) return this.escape(at, true, f);
    return [[c, c]];
  }

  /**
   * The escape after a consumed backslash at `at`: a set (one point for literals). Negated
   * Perl classes under (?i) are the complement of the FOLDED positive class (RE2's order), so
   * (?i)\W excludes the Kelvin sign that (?i)\w includes; that result is fold-closed, so
   * folding it again later changes nothing.
   */
  escape(at: number, inClass: boolean, f: Flags): CodeRange[] {
    const negatedClass = (positive: CodeRange[]) => complement(f.i ? caseFold(normalize(positive)) : normalize(positive));
    const c = this.next();
    if (c === -1) this.fail('invalid_regex', at, 'trailing backslash at the end of the pattern');
    const ch = String.fromCodePoint(c);
    switch (ch) {
      case 'd': return DIGIT;
      case 'D': return negatedClass(DIGIT);
      case 'w': return WORD;
      case 'W': return negatedClass(WORD);
      case 's': return SPACE;
      case 'S': return negatedClass(SPACE);
      case 'x': {
        const m = /^(\{([0-9A-Fa-f]{1,6})\}|[0-9A-Fa-f]{2})/.exec(this.#p.slice(this.#i));
        if (!m) this.fail('invalid_regex', at, 'bad hex escape (write \\x41 or \\x{1F600})');
        const v = parseInt(m[2] ?? m[1]!, 16);
        if (v > MAX_CODE_POINT) this.fail('invalid_regex', at, `hex escape \`\\x${m[0]}\` is beyond U+10FFFF`);
        this.#i += m[0].length;
        return [[v, v]];
      }
      case 'p': case 'P':
        return this.fail('unsupported_regex', at, `Unicode class \`\\${ch}\` is not supported (write the ranges out, e.g. [\\x{370}-\\x{3FF}])`);
      case 'b': case 'B':
        if (inClass && ch === 'b') return this.fail('invalid_regex', at, '`\\b` inside a class is not an RE2 escape');
        return this.fail('unsupported_regex', at, `word boundary \`\\${ch}\` is not supported`);
      case 'C':
        return this.fail('unsupported_regex', at, '`\\C` (any byte) is not supported: it can split a UTF-8 sequence');
      case 'Z':
        return this.fail('invalid_regex', at, '`\\Z` is not RE2 syntax (use `\\z` or `$`)');
      case 'A': case 'z':
        return this.fail('invalid_regex', at, `\`\\${ch}\` is an anchor and cannot appear inside a class`);
      case 'Q': case 'E':
        return this.fail('invalid_regex', at, `\`\\${ch}\` cannot appear inside a class`);
      default:
    }
    if (c >= 0x31 && c <= 0x39) this.fail('unsupported_regex', at, `backreference \`\\${ch}\` is not supported (RE2 rejects it too)`);
    if (c === 0x30) this.fail('unsupported_regex', at, 'octal escape `\\0` is not supported (write \\x00)');
    const ctrl = CONTROL_ESCAPES[ch];
    if (ctrl !== undefined) return [[ctrl, ctrl]];
    if (isPunct(c)) return [[c, c]];
    return this.fail('invalid_regex', at, `invalid escape \`\\${ch}\``);
  }
}

/** Parses `pattern` (RE2 syntax) into a RegexNode; throws RegexCompileError. */
export function parseRegex(pattern: string): RegexNode {
  return new Parser(pattern).parse();
}
