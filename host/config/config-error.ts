// The one error host/config throws: every problem of a load, each with its exact location,
// so an operator fixes a whole file in one pass instead of one error per restart.

/** Stable codes for one problem; ConfigError.code is always 'invalid_config'. */
export type ConfigIssueCode =
  | 'yaml_syntax' // the YAML itself does not parse
  | 'unreadable_source' // a -f path that is missing or cannot be read
  | 'unknown_field' // a field the Istio API does not define (strict, as Istio's CRD schemas)
  | 'missing_field' // a required field is absent
  | 'invalid_type' // a field has the wrong type (a string where a number is expected, ...)
  | 'invalid_value' // right type, value out of range or not one of the allowed names
  | 'invalid_duration' // not a duration Istio accepts ("2s", "100ms", "1.5s", "1m", ...)
  | 'invalid_weight' // a negative route weight, or a route whose weights total 0
  | 'unknown_api_version' // an Istio group, or a version of one, that current Istio does not serve
  | 'unknown_kind' // a kind no known API group defines (misspelt, or in the wrong group)
  | 'unenforced_security' // a security setting wasmesh cannot enforce yet (refused rather than served open)
  | 'unknown_gateway' // --gateway names no Gateway in the loaded files
  | 'ambiguous_port' // a destination without port.number on a service with several ports
  | 'invalid_regex' // a regex that is empty or not RE2 syntax
  | 'unsupported_regex' // RE2 syntax the regex engine refuses (backreferences, lookaround, \b, ...)
  | 'regex_too_large' // a regex beyond the engine's limits (DFA states, repetition counts)
  | 'unsupported_field'; // valid Istio that would change routing, but is not served yet

export interface ConfigIssue {
  code: ConfigIssueCode;
  /** The file the problem is in; null for problems of the options (e.g. --gateway). */
  file: string | null;
  /** 1-based position of the YAML document in its file (counting empty documents). */
  doc: number | null;
  /** 1-based line of the offending node (or of its nearest existing parent). */
  line: number | null;
  /** Kind and name of the resource, when the document got that far. */
  kind: string | null;
  name: string | null;
  /** Field path in the resource, e.g. `spec.http[0].route[1].weight`; '' for the whole document. */
  path: string;
  /** Why, in words an operator can act on. */
  reason: string;
}

/** `file:line (document N) Kind name: path: reason` — the one-line form used in messages and logs. */
export function formatIssue(issue: ConfigIssue): string {
  let where = issue.file ?? '(options)';
  if (issue.line !== null) where += `:${issue.line}`;
  if (issue.doc !== null) where += ` (document ${issue.doc})`;
  const what = issue.kind !== null ? ` ${issue.kind}${issue.name !== null ? ` ${issue.name}` : ''}` : '';
  const path = issue.path !== '' ? ` ${issue.path}:` : '';
  return `${where}${what}:${path} ${issue.reason} [${issue.code}]`;
}

export class ConfigError extends Error {
  readonly code = 'invalid_config' as const;
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    const n = issues.length;
    super(`invalid config: ${n} error${n === 1 ? '' : 's'}\n` + issues.map((i) => '  ' + formatIssue(i)).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
