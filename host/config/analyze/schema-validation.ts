// IST0106 SchemaValidationError: every problem the config loader finds in a document it could
// read as a resource (unknown or missing fields, wrong types, bad values, unknown Istio kinds and
// versions), located by the loader at the offending field's line.
import type { ConfigIssue } from '../config-error.js';
import type { AnalysisInput } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';

export function schemaValidationMessages(input: AnalysisInput, defaultNamespace: string): AnalysisMessage[] {
  return input.schemaIssues.map((issue) => toMessage(issue, defaultNamespace));
}

function toMessage(issue: ConfigIssue, defaultNamespace: string): AnalysisMessage {
  const full = issue.name ?? '';
  const slash = full.indexOf('/');
  const namespace = slash < 0 ? defaultNamespace : full.slice(0, slash);
  const name = slash < 0 ? full : full.slice(slash + 1);
  const what = issue.path !== '' ? `${issue.path}: ${issue.reason}` : issue.reason;
  const origin = { kind: issue.kind ?? '', namespace, name, file: issue.file ?? '', line: issue.line ?? 0 };
  return message(MESSAGES.SchemaValidationError, origin, issue.line, what);
}
