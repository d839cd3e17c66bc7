// The ServiceAccounts the API server holds are the identities the mesh can issue (a pod runs as
// one; the CA's TokenReview proves it). An AuthorizationPolicy that names an identity in a
// namespace the API server knows, whose ServiceAccount it does not have, most likely has a typo:
// no workload can ever present it, so the rule never matches. Warned (the policy is still
// served: the account may be created later), at the field: `source.principals` entries of the
// exact form `<trust domain>/ns/<ns>/sa/<sa>` (wildcards skipped) and `source.serviceAccounts`
// entries `<ns>/<sa>`, in `from` and `notPrincipals`/`notServiceAccounts` alike.
import type { SourcedResource } from '../config/read-resource.js';
import { warningAt } from '../config/issue-location.js';

const PRINCIPAL = /^[^*/]+\/ns\/([^*/]+)\/sa\/([^*/]+)$/;
const SERVICE_ACCOUNT = /^([^*/]+)\/([^*/]+)$/;

interface Source { [list: string]: unknown }

/** Warnings for identities no ServiceAccount backs; `accounts` as `ns/name`, `namespaces` the known ones. */
export function unknownServiceAccountWarnings(effective: readonly SourcedResource[], accounts: ReadonlySet<string>, namespaces: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const r of effective) {
    if (r.resource.kind !== 'AuthorizationPolicy') continue;
    const rules = ((r.resource.spec as { rules?: Array<{ from?: Array<{ source?: Source }> }> } | undefined)?.rules) ?? [];
    rules.forEach((rule, i) => (rule.from ?? []).forEach((from, j) => {
      const source = from.source ?? {};
      for (const [list, re] of [['principals', PRINCIPAL], ['notPrincipals', PRINCIPAL], ['serviceAccounts', SERVICE_ACCOUNT], ['notServiceAccounts', SERVICE_ACCOUNT]] as const) {
        const values = source[list];
        if (!Array.isArray(values)) continue;
        values.forEach((v: unknown, k) => {
          const m = typeof v === 'string' ? re.exec(v) : null;
          if (m === null) return;
          const account = `${m[1]}/${m[2]}`;
          if (!namespaces.has(m[1]!) || accounts.has(account)) return;
          out.push(warningAt(r.ref, ['spec', 'rules', i, 'from', j, 'source', list, k], `names service account ${account}, which the API server does not have: no workload holds this identity (yet), so this never matches it`));
        });
      }
    }));
  }
  return out;
}
