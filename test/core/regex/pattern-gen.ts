// A generator of RE2 patterns with two printers (RE2 syntax, and the equivalent JS with the `u`
// flag) and of subjects that hit each pattern's accepting paths, for the regex engine's
// differential tests (against V8's RegExp and against RE2 itself, re2-wasm).
import fc from 'fast-check';

// ── A pattern grammar with two printers: RE2 syntax, and the equivalent JS (u flag) ─────────
export type Gen =
  | { t: 'char'; c: string }
  | { t: 'dot' }
  | { t: 'perl'; c: 'd' | 'D' | 'w' | 'W' | 's' | 'S' }
  | { t: 'class'; neg: boolean; items: Array<string | [string, string] | 'd' | 'w' | 's'> }
  | { t: 'anchor'; c: '^' | '$' }
  | { t: 'cat'; items: Gen[] }
  | { t: 'alt'; items: Gen[] }
  | { t: 'group'; named: boolean; item: Gen }
  | { t: 'rep'; item: Gen; min: number; max: number; lazy: boolean };

const CHARS = ['a', 'b', 'c', 'A', 'k', 'K', 's', '/', '.', '-', '0', '9', '_', ' ', '\n', 'é', 'É', '€', '😀', '\u212a', '\u017f', '{', '*', '|', '(', ')', '[', ']', '^', '$', '\\', '?', '+'];
const SYNTAX = new Set(['.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '^', '$', '\\', '/']);
/** Escaped for both dialects; `-` only inside a class (JS's u flag refuses `\-` outside). */
const esc = (c: string, inClass = false) => (SYNTAX.has(c) || (inClass && c === '-') ? '\\' + c : c === '\n' ? '\\n' : c);
const SPACE_JS = '\\t\\n\\f\\r ';

const leaf: fc.Arbitrary<Gen> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CHARS).map((c): Gen => ({ t: 'char', c })) },
  { weight: 2, arbitrary: fc.constant<Gen>({ t: 'dot' }) },
  { weight: 2, arbitrary: fc.constantFrom('d', 'D', 'w', 'W', 's', 'S').map((c) => ({ t: 'perl', c }) as Gen) },
  {
    weight: 3,
    arbitrary: fc.record({
      neg: fc.boolean(),
      items: fc.array(fc.oneof(
        fc.constantFrom(...CHARS),
        fc.constantFrom<[string, string]>(['a', 'c'], ['A', 'Z'], ['0', '9'], ['é', 'ë'], ['\x00', '\x7f'], ['\x80', '\u{10ffff}'], ['€', '😀'], ['j', 'l']),
        fc.constantFrom('d' as const, 'w' as const, 's' as const),
      ), { minLength: 1, maxLength: 4 }),
    }).map((r): Gen => ({ t: 'class', ...r })),
  },
  { weight: 1, arbitrary: fc.constantFrom('^' as const, '$' as const).map((c): Gen => ({ t: 'anchor', c })) },
);

export const { node } = fc.letrec<{ node: Gen }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((items): Gen => ({ t: 'cat', items })),
    fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((items): Gen => ({ t: 'alt', items })),
    fc.tuple(tie('node'), fc.boolean()).map(([item, named]): Gen => ({ t: 'group', named, item })),
    fc.tuple(tie('node'), fc.constantFrom([0, -1], [1, -1], [0, 1], [2, 2], [0, 3], [2, -1], [1, 3]), fc.boolean())
      .map(([item, [min, max], lazy]): Gen => ({ t: 'rep', item, min: min!, max: max!, lazy })),
  ),
}));

function classItem(i: string | [string, string] | 'd' | 'w' | 's', js: boolean): string {
  if (i === 'd' || i === 'w') return '\\' + i;
  if (i === 's') return js ? SPACE_JS : '\\s';
  if (Array.isArray(i)) return `${esc(i[0], true)}-${esc(i[1], true)}`;
  return esc(i, true);
}

let groupNames = 0;
export function print(g: Gen, js: boolean, dotAll: boolean): string {
  switch (g.t) {
    case 'char': return esc(g.c);
    // JS's `.` also excludes \r, U+2028 and U+2029; RE2's excludes only \n.
    case 'dot': return js && !dotAll ? '[^\\n]' : '.';
    case 'perl':
      if (js && g.c === 's') return `[${SPACE_JS}]`;
      if (js && g.c === 'S') return `[^${SPACE_JS}]`;
      return '\\' + g.c;
    case 'class': return `[${g.neg ? '^' : ''}${g.items.map((i) => classItem(i, js)).join('')}]`;
    case 'anchor': return g.c;
    case 'cat': return g.items.map((x) => print(x, js, dotAll)).join('');
    case 'alt': return g.items.map((x) => print(x, js, dotAll)).join('|');
    case 'group': {
      const inner = print(g.item, js, dotAll);
      if (!g.named) return `(?:${inner})`;
      const n = `g${groupNames++}`;
      return js ? `(?<${n}>${inner})` : `(?P<${n}>${inner})`;
    }
    case 'rep': {
      const q = g.min === 0 && g.max === -1 ? '*' : g.min === 1 && g.max === -1 ? '+' : g.min === 0 && g.max === 1 ? '?'
        : g.max === -1 ? `{${g.min},}` : g.min === g.max ? `{${g.min}}` : `{${g.min},${g.max}}`;
      // Always a group around the operand: JS (u) refuses quantified assertions like ^*.
      return `(?:${print(g.item, js, dotAll)})${q}${g.lazy ? '?' : ''}`;
    }
  }
}

/** Strings that match `g` (ignoring anchors), to hit the accepting paths often. */
function sample(g: Gen): fc.Arbitrary<string> {
  switch (g.t) {
    case 'char': return fc.constant(g.c);
    case 'dot': return fc.constantFrom('x', 'é', '😀', '.');
    case 'perl': return fc.constantFrom(...({ d: ['5'], D: ['x', 'é'], w: ['a', '_'], W: ['-', '€'], s: [' ', '\t'], S: ['q', '😀'] })[g.c]);
    case 'class': return g.neg ? fc.constantFrom('x', 'Q', '€', ' ', '\n') : fc.constantFrom(...g.items.map((i) => (i === 'd' ? '4' : i === 'w' ? 'w' : i === 's' ? ' ' : Array.isArray(i) ? i[0] : i)));
    case 'anchor': return fc.constant('');
    case 'cat': return fc.tuple(...g.items.map(sample)).map((p) => p.join(''));
    case 'alt': return fc.oneof(...g.items.map(sample));
    case 'group': return sample(g.item);
    case 'rep': return fc.array(sample(g.item), { minLength: g.min, maxLength: g.max === -1 ? g.min + 3 : g.max }).map((p) => p.join(''));
  }
}

const noise = fc.oneof(
  fc.array(fc.constantFrom(...CHARS, 'x', 'Z', '\u0131', 'ς', 'σ', 'Σ'), { maxLength: 6 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 4 }).filter((s) => s.isWellFormed()),
);

/** Subjects for `g`: samples, samples with an edit, and noise. */
export const subjectsFor = (g: Gen) => fc.array(fc.oneof(
  sample(g),
  fc.tuple(sample(g), noise, fc.nat(8)).map(([s, n, at]) => {
    const cps = [...s];
    const i = Math.min(at, cps.length);
    return at % 2 ? [...cps.slice(0, i), ...n, ...cps.slice(i)].join('') : [...cps.slice(0, i), ...cps.slice(i + 1)].join('');
  }),
  noise,
), { minLength: 1, maxLength: 12 });

export const flags = fc.record({ i: fc.boolean(), s: fc.boolean() });
