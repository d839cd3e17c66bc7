// Sets of Unicode code points as sorted, disjoint, non-adjacent [lo, hi] ranges: what a regex
// literal, class, `.` or escape stands for before it is lowered to UTF-8 byte sequences.

export type CodeRange = readonly [number, number];

export const MAX_CODE_POINT = 0x10ffff;

/** Sorts and merges overlapping or adjacent ranges. */
export function normalize(ranges: Iterable<CodeRange>): CodeRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Every code point not in `set` (which must be normalized). */
export function complement(set: readonly CodeRange[]): CodeRange[] {
  const out: CodeRange[] = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

// ── Case folding ─────────────────────────────────────────────────────────────────────────
// (?i) follows Unicode simple case folding (CaseFolding.txt, statuses C and S), the table
// RE2's fold orbits are built from. The JS engine carries the same table as the canonicalize
// step of its `iu` regexes, so the orbit of a code point is computed by asking it, over the
// small set of code points that have any case mapping at all (found once, lazily).

let cased: number[] | null = null;
const orbits = new Map<number, number[]>();

/** Finds every cased code point and its orbit, once: verified candidate pairs joined by union-find. */
function casedCodePoints(): number[] {
  if (cased) return cased;
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const add = (x: number) => {
    if (!parent.has(x)) parent.set(x, x);
  };
  const single = (s: string): number | null => ([...s].length === 1 ? s.codePointAt(0)! : null);
  for (let c = 0; c <= 0x1ffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const s = String.fromCodePoint(c);
    const lo = s.toLowerCase();
    const up = s.toUpperCase();
    if (lo === s && up === s) continue;
    // Candidates from the case mappings; each is kept only if the engine's `iu` folding agrees
    // (so U+0131 dotless i, whose upper case is I but which does not fold to i, stays apart).
    const re = new RegExp(`^\\u{${c.toString(16)}}$`, 'iu');
    for (const t of [lo, up, up.toLowerCase(), lo.toUpperCase()]) {
      const y = single(t);
      if (y === null || y === c || !re.test(t)) continue;
      add(c);
      add(y);
      parent.set(find(c), find(y));
    }
  }
  const groups = new Map<number, number[]>();
  for (const x of parent.keys()) {
    const r = find(x);
    const g = groups.get(r);
    if (g) g.push(x);
    else groups.set(r, [x]);
  }
  for (const g of groups.values()) {
    g.sort((a, b) => a - b);
    for (const x of g) orbits.set(x, g);
  }
  cased = [...parent.keys()].sort((a, b) => a - b);
  return cased;
}

/** Every code point that (?i) treats as equal to `c`, `c` included. */
export function foldOrbit(c: number): readonly number[] {
  casedCodePoints();
  return orbits.get(c) ?? [c];
}

/** ASCII letters fold among themselves plus two non-ASCII code points: K → U+212A, S → U+017F. */
function asciiFold(set: readonly CodeRange[]): CodeRange[] {
  const extra: CodeRange[] = [];
  for (const [lo, hi] of set) {
    for (let c = lo; c <= hi; c++) {
      const l = c | 0x20;
      if (l < 0x61 || l > 0x7a) continue;
      extra.push([l, l], [l & ~0x20, l & ~0x20]);
      if (l === 0x6b) extra.push([0x212a, 0x212a]); // KELVIN SIGN
      if (l === 0x73) extra.push([0x17f, 0x17f]); // LATIN SMALL LETTER LONG S
    }
  }
  return extra.length === 0 ? [...set] : normalize([...set, ...extra]);
}

/** `set` closed under case folding (set normalized). */
export function caseFold(set: readonly CodeRange[]): CodeRange[] {
  // Most (?i) patterns are ASCII: skip building the Unicode orbits (~0.3 s once per process).
  if (set.length === 0 || set[set.length - 1]![1] < 0x80) return asciiFold(set);
  const extra: CodeRange[] = [];
  const all = casedCodePoints();
  for (const [lo, hi] of set) {
    // Binary search to the first cased code point ≥ lo, then walk the range.
    let a = 0;
    let b = all.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (all[m]! < lo) a = m + 1;
      else b = m;
    }
    for (let i = a; i < all.length && all[i]! <= hi; i++) {
      for (const x of foldOrbit(all[i]!)) extra.push([x, x]);
    }
  }
  return extra.length === 0 ? [...set] : normalize([...set, ...extra]);
}
