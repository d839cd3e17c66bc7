// Regex validation at load time: every RE2 pattern a served resource holds is compiled here by
// the same compiler the route table uses, so a bad or unsupported regex is a located
// ConfigIssue instead of a failure when the table is built. Also the capture-group rules of
// Istio's uriRegexRewrite (`\1`-style references must name a group the pattern has).
import type { ConfigIssue, ConfigIssueCode } from '../config-error.js';
import { issueAt, type DocumentRef } from '../issue-location.js';
import type { PathSegment } from '../yaml-source.js';
import { compileRegex } from '../../compile/regex/compile-regex.js';
import { RegexCompileError } from '../../compile/regex/regex-compile-error.js';

/**
 * Compiles `pattern` and records an issue at `path` when it is empty (Istio: "regex string
 * match should not be empty"), not RE2, refused by the engine, or too large. Returns whether
 * the pattern is usable.
 */
export function checkRegex(issues: ConfigIssue[], ref: DocumentRef, path: readonly PathSegment[], pattern: string): boolean {
  if (pattern === '') {
    issues.push(issueAt(ref, 'invalid_regex', path, 'a regex must not be empty (to match anything, leave the condition out)'));
    return false;
  }
  try {
    compileRegex(pattern);
    return true;
  } catch (e) {
    if (!(e instanceof RegexCompileError)) throw e;
    issues.push(issueAt(ref, e.code as ConfigIssueCode, path, e.message));
    return false;
  }
}

/**
 * The number of capturing groups of a pattern that compiled: `(` that is not escaped, not in a
 * character class and not `(?` — except the named groups `(?P<name>` and `(?<name>`, which
 * capture. `\Q…\E` quotes are skipped.
 */
export function captureGroupCount(pattern: string): number {
  let count = 0;
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        i = end < 0 ? n : end + 2;
      } else i += 2;
      continue;
    }
    if (c === '[') {
      // A class: `]` right after `[` or `[^` is a literal; `[:alpha:]` holds a `]` of its own.
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < n && pattern[i] !== ']') {
        if (pattern[i] === '\\') i += 2;
        else if (pattern[i] === '[' && pattern[i + 1] === ':') {
          const end = pattern.indexOf(':]', i + 2);
          i = end < 0 ? i + 1 : end + 2;
        } else i++;
      }
      i++;
      continue;
    }
    if (c === '(') {
      if (pattern[i + 1] !== '?') count++;
      else if (pattern.startsWith('?P<', i + 1) || (pattern[i + 2] === '<' && pattern[i + 3] !== '=' && pattern[i + 3] !== '!')) count++;
    }
    i++;
  }
  return count;
}

/**
 * Checks a uriRegexRewrite `rewrite` against its `match`'s group count, with RE2::Rewrite's
 * rules (what Envoy's regex_rewrite runs): `\0`–`\9` name the whole match or a group, `\\` is a
 * backslash, any other backslash is an error. Returns the reason, or null when valid.
 */
export function rewriteReferenceError(rewrite: string, groups: number): string | null {
  for (let i = 0; i < rewrite.length; i++) {
    if (rewrite[i] !== '\\') continue;
    const next = rewrite[i + 1];
    if (next === '\\') {
      i++;
      continue;
    }
    if (next !== undefined && next >= '0' && next <= '9') {
      const g = Number(next);
      if (g > groups) return `\\${g} refers to capture group ${g}, but the match pattern has ${groups === 0 ? 'no capture groups' : `only ${groups}`}`;
      i++;
      continue;
    }
    return `a backslash at offset ${i} must be followed by a digit (\\1) or another backslash (\\\\)`;
  }
  return null;
}
