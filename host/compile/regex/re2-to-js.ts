// RE2 pattern and substitution syntax as JS RegExp reads it, for the places that run an RE2
// pattern on a JS RegExp (rewrites with substitutions, CORS origins): host/config has already
// checked the pattern as RE2, whose syntax JS shares for everything these use except what is
// translated here.

/** RE2 syntax to JS RegExp syntax for the constructs that differ (named groups). */
export function re2ToJs(pattern: string): string {
  return pattern.replace(/\(\?P</g, '(?<');
}

/** RE2 substitution (`\1`, `\0`, `\\`) to JS replacement syntax (`$1`, `$&`, `$$` escaping). */
export function re2Substitution(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '$') out += '$$';
    else if (c === '\\' && i + 1 < s.length) {
      const n = s[++i]!;
      if (n >= '0' && n <= '9') out += n === '0' ? '$&' : `$${n}`;
      else out += n === '$' ? '$$' : n;
    } else out += c;
  }
  return out;
}
