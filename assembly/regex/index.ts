// Regex exports: validate a compiled regex program once (regex_check), then run it as a full
// match over subject bytes in linear memory (regex_match). Numbers only; no allocation.
import { RegexStatus, REGEX_MAGIC, REGEX_FORMAT, RX_MAGIC, RX_FORMAT, checkProgram } from './program';
import { runProgram } from './run';

/**
 * Validates the regex program of `len` bytes at `prog` (once, after copying it in).
 * Returns RegexStatus: Ok (0), BadLength (-1), BadMagic (-2), BadFormat (-3) or Corrupt (-4).
 */
export function regex_check(prog: usize, len: u32): i32 {
  return checkProgram(prog, len);
}

/**
 * Full match of the `subjectLen` bytes at `subject` against the program at `prog`, which
 * regex_check must have accepted: 1 (match), 0 (no match), or BadMagic / BadFormat when
 * `prog` is plainly not a program (a cheap guard against a wrong address, not a re-check).
 */
export function regex_match(prog: usize, subject: usize, subjectLen: u32): i32 {
  if (load<u32>(prog + RX_MAGIC) != REGEX_MAGIC) return RegexStatus.BadMagic;
  if (load<u32>(prog + RX_FORMAT) != REGEX_FORMAT) return RegexStatus.BadFormat;
  return runProgram(prog, subject, <usize>subjectLen) ? 1 : 0;
}
