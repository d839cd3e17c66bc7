// meshConfig's access-log pieces: accessLogFile / accessLogFormat / accessLogEncoding (Istio's
// built-in `envoy` provider) and extensionProviders[].envoyFileAccessLog (path, logFormat.text or
// logFormat.labels), as AccessLogTarget without a filter. Every format is compiled here so that a
// command operator wasmesh does not serve is a located error where it is written, not a `-` in
// every line. Istio's defaults: an empty format is EnvoyTextLogFormat (TEXT) or the Istio JSON
// labels (JSON); the `envoy` provider writes to accessLogFile, else /dev/stdout.
import type { ConfigIssue } from '../config-error.js';
import { issueAt, type DocumentRef } from '../issue-location.js';
import type { PathSegment } from '../yaml-source.js';
import type { AccessLogTarget } from '../../model/access-logging.js';
import {
  AccessLogFormatError, compileJson, compileText, ISTIO_DEFAULT_JSON_LABELS, ISTIO_DEFAULT_TEXT_FORMAT, KeyedFormatError,
} from '../../common/access-log-format.js';

/** The name of Istio's built-in provider configured by meshConfig accessLogFile/Format/Encoding. */
export const ENVOY_PROVIDER = 'envoy';

/** A format string as stored: Envoy's formats end in a newline, which the log's writer adds. */
function stored(format: string): string {
  return format.endsWith('\n') ? format.slice(0, -1) : format;
}

/** Checks a TEXT format; false (an issue added) when refused. */
function checkText(format: string, ref: DocumentRef, at: readonly PathSegment[], issues: ConfigIssue[]): boolean {
  try {
    compileText(format);
    return true;
  } catch (e) {
    if (!(e instanceof AccessLogFormatError)) throw e;
    issues.push(issueAt(ref, 'invalid_value', at, `${e.message} (at character ${e.offset + 1} of the format)`));
    return false;
  }
}

function checkLabels(labels: Readonly<Record<string, string>>, ref: DocumentRef, at: readonly PathSegment[], issues: ConfigIssue[]): boolean {
  try {
    compileJson(labels);
    return true;
  } catch (e) {
    if (!(e instanceof KeyedFormatError)) throw e;
    issues.push(issueAt(ref, 'invalid_value', [...at, e.key], `${e.message} (at character ${e.offset + 1} of the value)`));
    return false;
  }
}

/** The `envoy` provider from meshConfig's three fields; null on an error (an issue added). */
export function meshAccessLog(record: Record<string, unknown>, ref: DocumentRef, prefix: readonly PathSegment[], issues: ConfigIssue[]): AccessLogTarget | null {
  const file = record['accessLogFile'];
  const format = record['accessLogFormat'];
  const encoding = record['accessLogEncoding'];
  let ok = true;
  for (const [k, v] of [['accessLogFile', file], ['accessLogFormat', format]] as const) {
    if (v !== undefined && typeof v !== 'string') {
      issues.push(issueAt(ref, 'invalid_type', [...prefix, k], 'must be a string'));
      ok = false;
    }
  }
  if (encoding !== undefined && encoding !== 'TEXT' && encoding !== 'JSON') {
    issues.push(issueAt(ref, 'invalid_value', [...prefix, 'accessLogEncoding'], `must be TEXT or JSON, got ${JSON.stringify(encoding)}`));
    ok = false;
  }
  if (!ok) return null;
  const path = (file as string | undefined) || '/dev/stdout';
  const text = (format as string | undefined) ?? '';
  if (encoding === 'JSON') {
    let labels: Record<string, string> = { ...ISTIO_DEFAULT_JSON_LABELS };
    if (text !== '') {
      // Istio reads a JSON accessLogFormat as a JSON object whose values are format strings.
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        issues.push(issueAt(ref, 'invalid_value', [...prefix, 'accessLogFormat'], `with accessLogEncoding JSON, must be a JSON object of format strings: ${(e as Error).message}`));
        return null;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
        issues.push(issueAt(ref, 'invalid_value', [...prefix, 'accessLogFormat'], 'with accessLogEncoding JSON, must be a JSON object whose values are strings (format strings)'));
        return null;
      }
      labels = parsed as Record<string, string>;
    }
    if (!checkLabels(labels, ref, [...prefix, 'accessLogFormat'], issues)) return null;
    return Object.freeze({ provider: ENVOY_PROVIDER, path, encoding: 'JSON', labels: Object.freeze(labels) });
  }
  const fmt = text === '' ? ISTIO_DEFAULT_TEXT_FORMAT : text;
  if (!checkText(fmt, ref, [...prefix, 'accessLogFormat'], issues)) return null;
  return Object.freeze({ provider: ENVOY_PROVIDER, path, encoding: 'TEXT', format: stored(fmt) });
}

/** extensionProviders[i].envoyFileAccessLog; null on an error (an issue added). */
export function fileAccessLogProvider(name: string, p: unknown, ref: DocumentRef, at: readonly PathSegment[], issues: ConfigIssue[]): AccessLogTarget | null {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) {
    issues.push(issueAt(ref, 'invalid_type', at, 'expected a mapping (path, logFormat)'));
    return null;
  }
  const e = p as Record<string, unknown>;
  for (const k of Object.keys(e)) {
    if (k !== 'path' && k !== 'logFormat') {
      issues.push(issueAt(ref, 'unknown_field', [...at, k], `unknown field "${k}": envoyFileAccessLog has path and logFormat`));
      return null;
    }
  }
  const path = e['path'];
  if (path !== undefined && typeof path !== 'string') {
    issues.push(issueAt(ref, 'invalid_type', [...at, 'path'], 'must be a string'));
    return null;
  }
  const target = { provider: name, path: (path as string | undefined) || '/dev/stdout' };
  const lf = e['logFormat'];
  if (lf === undefined || lf === null) return Object.freeze({ ...target, encoding: 'TEXT', format: stored(ISTIO_DEFAULT_TEXT_FORMAT) });
  if (typeof lf !== 'object' || Array.isArray(lf)) {
    issues.push(issueAt(ref, 'invalid_type', [...at, 'logFormat'], 'expected a mapping (text or labels)'));
    return null;
  }
  const f = lf as Record<string, unknown>;
  const extra = Object.keys(f).find((k) => k !== 'text' && k !== 'labels' && k !== 'omitEmptyValues');
  if (extra !== undefined) {
    issues.push(issueAt(ref, 'unknown_field', [...at, 'logFormat', extra], `unknown field "${extra}": logFormat has text, labels, omitEmptyValues`));
    return null;
  }
  if (f['omitEmptyValues'] !== undefined) {
    issues.push(issueAt(ref, 'unsupported_field', [...at, 'logFormat', 'omitEmptyValues'], 'is not served'));
    return null;
  }
  if (f['text'] !== undefined && f['labels'] !== undefined) {
    issues.push(issueAt(ref, 'invalid_value', [...at, 'logFormat'], 'takes one of text and labels, not both'));
    return null;
  }
  if (f['labels'] !== undefined) {
    const labels = f['labels'];
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels) || Object.values(labels).some((v) => typeof v !== 'string')) {
      issues.push(issueAt(ref, 'invalid_type', [...at, 'logFormat', 'labels'], 'must map keys to format strings'));
      return null;
    }
    if (!checkLabels(labels as Record<string, string>, ref, [...at, 'logFormat', 'labels'], issues)) return null;
    return Object.freeze({ ...target, encoding: 'JSON', labels: Object.freeze({ ...(labels as Record<string, string>) }) });
  }
  const text = f['text'];
  if (text !== undefined && typeof text !== 'string') {
    issues.push(issueAt(ref, 'invalid_type', [...at, 'logFormat', 'text'], 'must be a string'));
    return null;
  }
  const fmt = (text as string | undefined) || ISTIO_DEFAULT_TEXT_FORMAT;
  if (!checkText(fmt, ref, [...at, 'logFormat', 'text'], issues)) return null;
  return Object.freeze({ ...target, encoding: 'TEXT', format: stored(fmt) });
}
