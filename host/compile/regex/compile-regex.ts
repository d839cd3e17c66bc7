// The regex compiler's entry: RE2-syntax pattern → parse → byte NFA → minimized DFA → the
// program bytes the core's regex_match runs as a full match of the subject's bytes.
import { parseRegex } from './parse-regex.js';
import { buildNfa } from './nfa.js';
import { buildDfa } from './dfa.js';
import { encodeRegexProgram } from './regex-program.js';

export interface CompiledRegex {
  readonly pattern: string;
  /** The program (format atop assembly/regex/program.ts); place it 4-byte aligned. */
  readonly program: Uint8Array;
  readonly stateCount: number;
  readonly classCount: number;
}

/**
 * Compiles `pattern` (RE2 syntax, full-match semantics: the whole subject must match, as
 * Envoy's safe_regex and Istio's `regex` do).
 * @throws RegexCompileError (unsupported_regex, invalid_regex, regex_too_large).
 */
export function compileRegex(pattern: string): CompiledRegex {
  const dfa = buildDfa(buildNfa(parseRegex(pattern), pattern), pattern);
  return { pattern, program: encodeRegexProgram(dfa), stateCount: dfa.stateCount, classCount: dfa.classCount };
}
