// The one decision about a security setting wasmesh cannot enforce yet: an error at load, so
// the proxy never serves open what the config asked to protect, or — when the operator passed
// --allow-unenforced-security — a warning that says plainly the protection is NOT enforced.
import type { ConfigIssue } from './config-error.js';
import { issueAt, warningAt, type DocumentRef } from './issue-location.js';
import type { PathSegment } from './yaml-source.js';

export interface SecurityGate {
  /** LoadOptions.allowUnenforcedSecurity. */
  allowUnenforced: boolean;
  /** LoadOptions.workloadIdentity: the proxy has a workload certificate (ISTIO_MUTUAL, auto mTLS enforced). */
  workloadIdentity?: boolean;
  /** LoadOptions.credentialsDir: where a DestinationRule tls credentialName is found. */
  credentialsDir?: string;
  issues: ConfigIssue[];
  warnings: string[];
}

/**
 * Reports that the setting at `path` asks for `protection`, which this version cannot give:
 * an `unenforced_security` issue, or with the flag a NOT ENFORCED warning (one per setting and
 * load: callers check each resource once, never once per cluster or route).
 */
export function refuseUnenforced(gate: SecurityGate, ref: DocumentRef, path: readonly PathSegment[], protection: string): void {
  if (gate.allowUnenforced) {
    gate.warnings.push(warningAt(ref, path, `NOT ENFORCED: ${protection}; served without this protection because of --allow-unenforced-security`));
    return;
  }
  gate.issues.push(
    issueAt(ref, 'unenforced_security', path, `${ref.kind} ${ref.name} cannot be enforced by this version: ${protection}; refusing to serve open (--allow-unenforced-security runs without it)`),
  );
}
