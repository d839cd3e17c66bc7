// Thompson construction: a RegexNode becomes an NFA over bytes whose transitions are byte
// ranges, with epsilon splits and the two text anchors as empty-width assertions. The DFA
// builder (dfa.ts) runs the subset construction over it.
import { RegexCompileError } from './regex-compile-error.js';
import type { RegexNode } from './regex-ast.js';
import { utf8Sequences } from './utf8-sequences.js';

export const enum NfaOp {
  /** Consume one byte in [lo, hi], go to out. */
  Byte = 0,
  /** Go to out and out1 (epsilon). */
  Split = 1,
  /** Go to out (epsilon). */
  Epsilon = 2,
  /** Go to out only at the beginning of the subject. */
  Begin = 3,
  /** Go to out only at the end of the subject. */
  End = 4,
  Match = 5,
}

export interface Nfa {
  /** Per state: op, lo, hi, out, out1 (parallel arrays). */
  readonly op: Uint8Array;
  readonly lo: Uint8Array;
  readonly hi: Uint8Array;
  readonly out: Int32Array;
  readonly out1: Int32Array;
  readonly size: number;
  readonly start: number;
}

/** NFA states allowed before a pattern is refused as regex_too_large. */
export const MAX_NFA_STATES = 200_000;

interface Frag {
  start: number;
  /** Holes to patch: state index * 2 (+1 for out1). */
  holes: number[];
}

class Builder {
  op: number[] = [];
  lo: number[] = [];
  hi: number[] = [];
  out: number[] = [];
  out1: number[] = [];
  readonly #pattern: string;

  constructor(pattern: string) {
    this.#pattern = pattern;
  }

  state(op: NfaOp, lo = 0, hi = 0): number {
    if (this.op.length >= MAX_NFA_STATES) {
      throw new RegexCompileError('regex_too_large', this.#pattern, -1, `the automaton needs more than ${MAX_NFA_STATES} NFA states (nested or large repetitions)`);
    }
    this.op.push(op);
    this.lo.push(lo);
    this.hi.push(hi);
    this.out.push(-1);
    this.out1.push(-1);
    return this.op.length - 1;
  }

  patch(holes: number[], target: number): void {
    for (const h of holes) {
      if (h & 1) this.out1[h >> 1] = target;
      else this.out[h >> 1] = target;
    }
  }

  eps(): Frag {
    const s = this.state(NfaOp.Epsilon);
    return { start: s, holes: [s * 2] };
  }

  concat(a: Frag, b: Frag): Frag {
    this.patch(a.holes, b.start);
    return { start: a.start, holes: b.holes };
  }

  alt(frags: Frag[]): Frag {
    if (frags.length === 1) return frags[0]!;
    let f = frags[frags.length - 1]!;
    for (let i = frags.length - 2; i >= 0; i--) {
      const s = this.state(NfaOp.Split);
      this.out[s] = frags[i]!.start;
      this.out1[s] = f.start;
      f = { start: s, holes: [...frags[i]!.holes, ...f.holes] };
    }
    return f;
  }

  /** item? */
  optional(item: Frag): Frag {
    const s = this.state(NfaOp.Split);
    this.out[s] = item.start;
    return { start: s, holes: [...item.holes, s * 2 + 1] };
  }

  /** item* */
  star(item: Frag): Frag {
    const s = this.state(NfaOp.Split);
    this.out[s] = item.start;
    this.patch(item.holes, s);
    return { start: s, holes: [s * 2 + 1] };
  }

  compile(n: RegexNode): Frag {
    switch (n.type) {
      case 'empty':
        return this.eps();
      case 'assert': {
        const s = this.state(n.kind === 'begin' ? NfaOp.Begin : NfaOp.End);
        return { start: s, holes: [s * 2] };
      }
      case 'set': {
        const seqs = utf8Sequences(n.ranges);
        if (seqs.length === 0) {
          // The empty set (e.g. [^\x00-\x{10FFFF}]) matches nothing: a byte state with an empty range.
          const s = this.state(NfaOp.Byte, 1, 0); // lo > hi: matches no byte
          return { start: s, holes: [s * 2] };
        }
        return this.alt(seqs.map((seq) => {
          let f: Frag | null = null;
          for (const [lo, hi] of seq) {
            const s = this.state(NfaOp.Byte, lo, hi);
            const b = { start: s, holes: [s * 2] };
            f = f ? this.concat(f, b) : b;
          }
          return f!;
        }));
      }
      case 'concat': {
        let f = this.compile(n.items[0]!);
        for (let i = 1; i < n.items.length; i++) f = this.concat(f, this.compile(n.items[i]!));
        return f;
      }
      case 'alt':
        return this.alt(n.items.map((x) => this.compile(x)));
      case 'repeat': {
        const { item, min, max } = n;
        // x{n,m} = x…x (n times) then (x(x(x)?)?)? (m-n times), or x* when unbounded.
        let f: Frag | null = null;
        for (let i = 0; i < min; i++) {
          const c = this.compile(item);
          f = f ? this.concat(f, c) : c;
        }
        if (max === -1) {
          const s = this.star(this.compile(item));
          f = f ? this.concat(f, s) : s;
        } else if (max > min) {
          let tail: Frag | null = null;
          for (let i = 0; i < max - min; i++) {
            const c = this.compile(item);
            tail = this.optional(tail ? this.concat(c, tail) : c);
          }
          f = f ? this.concat(f, tail!) : tail!;
        }
        return f ?? this.eps();
      }
    }
  }
}

/** Builds the NFA of `node` (from `pattern`, for error messages). */
export function buildNfa(node: RegexNode, pattern: string): Nfa {
  const b = new Builder(pattern);
  const f = b.compile(node);
  const m = b.state(NfaOp.Match);
  b.patch(f.holes, m);
  return {
    op: Uint8Array.from(b.op),
    lo: Uint8Array.from(b.lo),
    hi: Uint8Array.from(b.hi),
    out: Int32Array.from(b.out),
    out1: Int32Array.from(b.out1),
    size: b.op.length,
    start: f.start,
  };
}
