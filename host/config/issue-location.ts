// Turns a field path inside one YAML document into a located ConfigIssue or warning line, so
// every message names file, document, line, kind/name and the path the same way.
import type { ConfigIssue, ConfigIssueCode } from './config-error.js';
import { formatIssue } from './config-error.js';
import type { PathSegment, YamlDocument } from './yaml-source.js';

/** `spec.http[0].route[1].weight`; map keys that are not identifiers are quoted: `labels["app.kubernetes.io/name"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** One document's identity as far as it was read: used to locate every issue in it. */
export interface DocumentRef {
  source: YamlDocument;
  kind: string | null;
  /** `namespace/name` once metadata was read. */
  name: string | null;
}

export function issueAt(
  ref: DocumentRef,
  code: ConfigIssueCode,
  path: readonly PathSegment[],
  reason: string,
): ConfigIssue {
  return {
    code,
    file: ref.source.file,
    doc: ref.source.doc,
    line: ref.source.lineOf(path),
    kind: ref.kind,
    name: ref.name,
    path: formatPath(path),
    reason,
  };
}

/** A warning in the same one-line form as an error (without the code). */
export function warningAt(ref: DocumentRef, path: readonly PathSegment[], reason: string): string {
  const text = formatIssue(issueAt(ref, 'invalid_value', path, reason));
  const line = text.slice(0, text.lastIndexOf(' [')); // warnings carry no error code
  // "spec.http[0].retries is not served yet" reads as a sentence; keep it one.
  return reason.startsWith('is ') && path.length > 0 ? line.replace(`${formatPath(path)}: ${reason}`, `${formatPath(path)} ${reason}`) : line;
}
