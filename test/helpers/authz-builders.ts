// Short builders of the authorization model (host/model/authorization.ts) for tests.
import type { AuthzField, AuthzPolicy, AuthzRule, AuthzValue } from '../../host/model/authorization.js';

export const ex = (value: string): AuthzValue => ({ kind: 'exact', value });
export const pre = (value: string): AuthzValue => ({ kind: 'prefix', value });
export const suf = (value: string): AuthzValue => ({ kind: 'suffix', value });
export const any: AuthzValue = { kind: 'presence' };
export const tpl = (value: string): AuthzValue => ({ kind: 'template', value });
export const cidr = (address: string, prefixLength: number): AuthzValue => ({ kind: 'cidr', address, prefixLength });
export const port = (p: number): AuthzValue => ({ kind: 'port', port: p });
export function f(attribute: AuthzField['attribute'], values: AuthzValue[], notValues: AuthzValue[] = [], key?: string[]): AuthzField {
  return key ? { attribute, key, values, notValues } : { attribute, values, notValues };
}
export function rule(r: Partial<AuthzRule>): AuthzRule {
  return { from: r.from ?? [], to: r.to ?? [], when: r.when ?? [] };
}
export function policy(name: string, action: AuthzPolicy['action'], rules: AuthzRule[], extra: Partial<AuthzPolicy> = {}): AuthzPolicy {
  return { name, action, rules, dryRun: false, provider: null, ...extra };
}

