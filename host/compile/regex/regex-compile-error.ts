// The error compileRegex throws: a stable code, the offset in the pattern it is about, and a
// message that names the construct, its position and why it is refused.

export type RegexCompileErrorCode =
  /** RE2 syntax this engine does not run (backreferences, lookaround, \b, \p{..}, (?m), ...). */
  | 'unsupported_regex'
  /** Not a regular expression in RE2 syntax at all (unbalanced parenthesis, bad range, ...). */
  | 'invalid_regex'
  /** Valid, but its automaton (or a repetition count) exceeds the engine's size limits. */
  | 'regex_too_large';

export class RegexCompileError extends Error {
  readonly code: RegexCompileErrorCode;
  /** Offset in the pattern (UTF-16 code units, as `pattern.slice` counts), or -1 when the whole pattern is meant. */
  readonly position: number;
  readonly pattern: string;

  constructor(code: RegexCompileErrorCode, pattern: string, position: number, reason: string) {
    super(position >= 0 ? `regex ${JSON.stringify(pattern)} at offset ${position}: ${reason} (${code})` : `regex ${JSON.stringify(pattern)}: ${reason} (${code})`);
    this.name = 'RegexCompileError';
    this.code = code;
    this.position = position;
    this.pattern = pattern;
  }
}
