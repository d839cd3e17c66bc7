// Subset construction from the byte NFA to a full-match DFA over byte equivalence classes,
// then Moore minimization and merging of classes whose columns became identical. State 0 is
// always the dead state (non-accepting, every class to itself), so a matcher stops early there.
import { RegexCompileError } from './regex-compile-error.js';
import { type Nfa, NfaOp } from './nfa.js';

/** DFA states allowed before a pattern is refused as regex_too_large (no NFA fallback yet). */
export const MAX_DFA_STATES = 4096;
/**
 * Work budget of the subset construction, in NFA states examined. The state caps alone bound
 * the result, not the time to reach it (4,096 DFA states × 256 byte classes × a set of up to
 * 200,000 NFA states); a pattern that needs more than this is refused like one that needs too
 * many states, so a hostile or accidental regex cannot stall a config load. Typical patterns
 * use well under 1 % of it.
 */
export const MAX_DFA_WORK = 60_000_000;

export interface Dfa {
  /** byte → class. */
  readonly classMap: Uint8Array;
  readonly classCount: number;
  readonly stateCount: number;
  readonly start: number;
  /** 1 when reaching the end of the subject in this state is a match. */
  readonly accept: Uint8Array;
  /** stateCount × classCount next states, row-major. */
  readonly next: Uint16Array;
}

/** Byte intervals no NFA transition splits: the initial classes (later merged by column). */
function byteIntervals(nfa: Nfa): Uint8Array {
  const cut = new Uint8Array(257);
  cut[0] = 1;
  for (let s = 0; s < nfa.size; s++) {
    if (nfa.op[s] !== NfaOp.Byte || nfa.lo[s]! > nfa.hi[s]!) continue;
    cut[nfa.lo[s]!] = 1;
    cut[nfa.hi[s]! + 1] = 1;
  }
  const map = new Uint8Array(256);
  let cls = -1;
  for (let b = 0; b < 256; b++) {
    if (cut[b]) cls++;
    map[b] = cls;
  }
  return map;
}

class Closure {
  readonly #nfa: Nfa;
  readonly #mark: Int32Array;
  #gen = 0;
  readonly #stack: number[] = [];

  constructor(nfa: Nfa) {
    this.#nfa = nfa;
    this.#mark = new Int32Array(nfa.size);
  }

  /**
   * The Byte states reachable from `seeds` by epsilons (and by Begin when `atBegin`), and
   * whether Match is reachable when the subject ends here (End allowed too).
   */
  run(seeds: Iterable<number>, atBegin: boolean): { states: number[]; accept: boolean } {
    const nfa = this.#nfa;
    const gen = ++this.#gen;
    const states: number[] = [];
    const ends: number[] = [];
    const stack = this.#stack;
    let accept = false;
    for (const s of seeds) stack.push(s);
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (this.#mark[s] === gen) continue;
      this.#mark[s] = gen;
      switch (nfa.op[s]) {
        case NfaOp.Byte: states.push(s); break;
        case NfaOp.Split: stack.push(nfa.out1[s]!, nfa.out[s]!); break;
        case NfaOp.Epsilon: stack.push(nfa.out[s]!); break;
        case NfaOp.Begin: if (atBegin) stack.push(nfa.out[s]!); break;
        // After End nothing may consume: it only matters for acceptance, resolved below.
        case NfaOp.End: ends.push(nfa.out[s]!); break;
        case NfaOp.Match: accept = true; break;
      }
    }
    // Acceptance at the end of the subject: follow End (and Begin if still at the beginning).
    if (!accept && ends.length > 0) {
      const seen = new Set<number>();
      const work = [...ends];
      while (work.length > 0 && !accept) {
        const s = work.pop()!;
        if (seen.has(s)) continue;
        seen.add(s);
        switch (nfa.op[s]) {
          case NfaOp.Split: work.push(nfa.out[s]!, nfa.out1[s]!); break;
          case NfaOp.Epsilon: case NfaOp.End: work.push(nfa.out[s]!); break;
          case NfaOp.Begin: if (atBegin) work.push(nfa.out[s]!); break;
          case NfaOp.Match: accept = true; break;
          default: break; // Byte: cannot consume past the end
        }
      }
    }
    states.sort((a, b) => a - b);
    return { states, accept };
  }
}

/** Builds the minimized DFA of `nfa` (from `pattern`, for error messages). */
export function buildDfa(nfa: Nfa, pattern: string): Dfa {
  const intervalMap = byteIntervals(nfa);
  const intervals = intervalMap[255]! + 1;
  const rep: number[] = [];
  for (let b = 255; b >= 0; b--) rep[intervalMap[b]!] = b;

  const closure = new Closure(nfa);
  const ids = new Map<string, number>();
  const sets: number[][] = [];
  const accept: number[] = [];
  const intern = (states: number[], acc: boolean): number => {
    // The dead state: nothing left to consume and not accepting.
    if (states.length === 0 && !acc) return 0;
    const key = (acc ? 'a' : 'r') + states.join(',');
    let id = ids.get(key);
    if (id === undefined) {
      id = sets.length;
      if (id >= MAX_DFA_STATES) {
        throw new RegexCompileError('regex_too_large', pattern, -1, `the automaton needs more than ${MAX_DFA_STATES} DFA states (e.g. a bounded repetition after an unbounded one)`);
      }
      ids.set(key, id);
      sets.push(states);
      accept.push(acc ? 1 : 0);
    }
    return id;
  };
  sets.push([]);
  accept.push(0);
  const first = closure.run([nfa.start], true);
  const start = intern(first.states, first.accept);

  const rows: number[][] = [];
  let work = 0;
  for (let d = 0; d < sets.length; d++) {
    const row = new Array<number>(intervals).fill(0);
    const set = sets[d]!;
    if (set.length > 0) {
      for (let c = 0; c < intervals; c++) {
        const b = rep[c]!;
        const seeds: number[] = [];
        for (const s of set) if (nfa.lo[s]! <= b && b <= nfa.hi[s]!) seeds.push(nfa.out[s]!);
        work += set.length;
        if (seeds.length === 0) continue;
        const r = closure.run(seeds, false);
        work += r.states.length;
        if (work > MAX_DFA_WORK) {
          throw new RegexCompileError('regex_too_large', pattern, -1, `building the automaton needs more than ${MAX_DFA_WORK} steps (nested or large repetitions)`);
        }
        row[c] = intern(r.states, r.accept);
      }
    }
    rows.push(row);
  }
  return minimize(rows, accept, start, intervalMap, intervals);
}

/** Moore partition refinement, dead state kept at 0, then identical columns merged. */
function minimize(rows: number[][], accept: number[], start: number, intervalMap: Uint8Array, intervals: number): Dfa {
  const n = rows.length;
  let block = Int32Array.from(accept);
  let blocks = new Set(accept).size;
  for (;;) {
    const keys = new Map<string, number>();
    const next = new Int32Array(n);
    for (let s = 0; s < n; s++) {
      const key = block[s] + ':' + rows[s]!.map((t) => block[t]).join(',');
      let id = keys.get(key);
      if (id === undefined) {
        id = keys.size;
        keys.set(key, id);
      }
      next[s] = id;
    }
    block = next;
    if (keys.size === blocks) break;
    blocks = keys.size;
  }
  // Renumber: the dead state's block first (it has id 0 of the unminimized DFA).
  const renum = new Int32Array(blocks).fill(-1);
  let count = 0;
  renum[block[0]!] = count++;
  const members: number[] = [0];
  for (let s = 1; s < n; s++) {
    if (renum[block[s]!] === -1) {
      renum[block[s]!] = count++;
      members.push(s);
    }
  }
  // Columns: classes whose next state is the same in every state are one class.
  const colKey = new Map<string, number>();
  const intervalToClass = new Int32Array(intervals);
  const classReps: number[] = [];
  for (let c = 0; c < intervals; c++) {
    const key = members.map((s) => renum[block[rows[s]![c]!]!]).join(',');
    let id = colKey.get(key);
    if (id === undefined) {
      id = colKey.size;
      colKey.set(key, id);
      classReps.push(c);
    }
    intervalToClass[c] = id;
  }
  const classCount = classReps.length;
  const next = new Uint16Array(count * classCount);
  const acc = new Uint8Array(count);
  members.forEach((s, i) => {
    acc[i] = accept[s]!;
    classReps.forEach((c, k) => {
      next[i * classCount + k] = renum[block[rows[s]![c]!]!]!;
    });
  });
  const classMap = new Uint8Array(256);
  for (let b = 0; b < 256; b++) classMap[b] = intervalToClass[intervalMap[b]!]!;
  return { classMap, classCount, stateCount: count, start: renum[block[start]!]!, accept: acc, next };
}
