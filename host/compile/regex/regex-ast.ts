// The parsed form of a pattern: code-point sets, concatenation, alternation, bounded
// repetition and the two text anchors. Flags ((?i), (?s)) are already applied by the parser,
// and groups are gone (nothing here captures: a full match is a yes/no).
import type { CodeRange } from './code-point-set.js';

export type RegexNode =
  /** Matches the empty string. */
  | { readonly type: 'empty' }
  /** One code point from the set (a literal is a one-element set). */
  | { readonly type: 'set'; readonly ranges: readonly CodeRange[] }
  | { readonly type: 'concat'; readonly items: readonly RegexNode[] }
  | { readonly type: 'alt'; readonly items: readonly RegexNode[] }
  /** `item` from `min` to `max` times; max -1 = unbounded. */
  | { readonly type: 'repeat'; readonly item: RegexNode; readonly min: number; readonly max: number }
  /** ^ / \A (begin of text) and $ / \z (end of text): non-multiline, as RE2's defaults. */
  | { readonly type: 'assert'; readonly kind: 'begin' | 'end' };

/** RE2's cap on a repetition count ({n,m} with n or m above it is refused). */
export const MAX_REPEAT = 1000;
