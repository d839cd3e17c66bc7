// RE2 partial match ("does the pattern occur anywhere in the subject?"), as Envoy's admin
// `/stats?filter=` runs it, on the compiler the route regexes use: the pattern between two
// unanchored `(?s:.*)` compiles to one DFA, so a search takes time linear in the subject. The
// admin API runs on the thread that serves traffic, and a JS RegExp typed into it could
// backtrack for minutes; the DFA's build is bounded (dfa.ts) and its run is one table step a byte.
import { parseRegex } from './parse-regex.js';
import { buildNfa } from './nfa.js';
import { buildDfa } from './dfa.js';

/**
 * Compiles `pattern` (RE2 syntax; `^` and `$` anchor to the subject's ends, as in Envoy's
 * filters) into a partial-match test.
 * @throws RegexCompileError (invalid_regex, unsupported_regex, regex_too_large), naming the position.
 */
export function compileSearch(pattern: string): (subject: string) => boolean {
  const node = parseRegex(pattern);
  const anything = parseRegex('(?s:.*)');
  const dfa = buildDfa(buildNfa({ type: 'concat', items: [anything, node, anything] }, pattern), pattern);
  const encoder = new TextEncoder();
  return (subject) => {
    let s = dfa.start;
    for (const b of encoder.encode(subject)) {
      s = dfa.next[s * dfa.classCount + dfa.classMap[b]!]!;
      // State 0 is dead: nothing after it can match.
      if (s === 0) return false;
    }
    return dfa.accept[s] === 1;
  };
}
