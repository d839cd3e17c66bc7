// The verdicts every ext_authz client shares: an allow, and the provider's failure policy when
// the authorizer could not answer (failOpen: allowed; otherwise denied with statusOnError).
import type { ExtAuthzVerdict } from '../../http/ext-authz-check.js';
import type { ExtAuthzProvider } from '../../model/mesh-settings.js';

const NONE: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

export const ALLOWED: ExtAuthzVerdict = Object.freeze({ allowed: true, status: 200, headersToUpstream: NONE, headersToDownstream: NONE, body: '', error: false });

export function allowedWith(headersToUpstream: ReadonlyArray<readonly [string, string]>): ExtAuthzVerdict {
  return headersToUpstream.length === 0 ? ALLOWED : { allowed: true, status: 200, headersToUpstream, headersToDownstream: NONE, body: '', error: false };
}

export function denied(status: number, headersToDownstream: ReadonlyArray<readonly [string, string]>, body: string): ExtAuthzVerdict {
  return { allowed: false, status, headersToUpstream: NONE, headersToDownstream, body, error: false };
}

/** The authorizer failed (unreachable, timed out, answered an error): the provider's policy. */
export function failed(provider: ExtAuthzProvider): ExtAuthzVerdict {
  return { allowed: provider.failOpen, status: provider.failOpen ? 200 : provider.statusOnError, headersToUpstream: NONE, headersToDownstream: NONE, body: '', error: true };
}
