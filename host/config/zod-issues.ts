// Zod's validation issues as located ConfigIssues, worded for an operator ("expected a list,
// got the string …"), shared by every reader of a validated document (read-resource.ts,
// translate/mesh-settings.ts).
import type { z } from 'zod';
import type { ConfigIssue, ConfigIssueCode } from './config-error.js';
import { durationHint } from '../common/duration.js';
import { issueAt, type DocumentRef } from './issue-location.js';
import type { PathSegment } from './yaml-source.js';

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${String(value)}`;
}

function expectedName(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

/** Zod's issues, one ConfigIssue each, paths prefixed (e.g. with 'spec'). */
export function zodIssues(error: z.ZodError, prefix: readonly PathSegment[], ref: DocumentRef): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...(issue.path as PathSegment[])];
    const last = path[path.length - 1];
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          out.push(issueAt(ref, 'unknown_field', [...path, key], `unknown field "${key}": not part of the Istio ${ref.kind ?? ''} API`.replace('  ', ' ')));
        }
        break;
      case 'invalid_type':
        if (issue.input === undefined) {
          out.push(issueAt(ref, 'missing_field', path, `required field is missing (expected ${expectedName(issue.expected)})`));
        } else {
          out.push(issueAt(ref, 'invalid_type', path, `expected ${expectedName(issue.expected)}, got ${describe(issue.input)}`));
        }
        break;
      case 'invalid_value':
        out.push(issueAt(ref, 'invalid_value', path, `must be one of ${issue.values.map(String).join(', ')}, got ${describe(issue.input)}`));
        break;
      case 'too_small':
      case 'too_big': {
        const code: ConfigIssueCode = last === 'weight' ? 'invalid_weight' : 'invalid_value';
        out.push(issueAt(ref, code, path, `${issue.message}, got ${describe(issue.input)}`));
        break;
      }
      case 'custom': {
        const params = issue.params as { code?: ConfigIssueCode; expected?: string } | undefined;
        if (params?.expected === 'duration') {
          if (issue.input === undefined) out.push(issueAt(ref, 'missing_field', path, 'required field is missing (expected a duration string such as "2s")'));
          else out.push(issueAt(ref, 'invalid_type', path, `expected a string, got ${describe(issue.input)}${durationHint(issue.input)}`));
          break;
        }
        const code = params?.code ?? 'invalid_value';
        out.push(issueAt(ref, code, path, issue.message));
        break;
      }
      default:
        out.push(issueAt(ref, 'invalid_value', path, issue.message));
    }
  }
  return out;
}

