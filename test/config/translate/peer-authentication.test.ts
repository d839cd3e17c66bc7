// PeerAuthentication resources → the policies the inbound mTLS composition reads, and the mode a
// sidecar's inbound listener takes from them when the proxy has a workload identity.
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../../host/config/index.js';
import { peerAuthenticationPolicies } from '../../../host/config/translate/peer-authentication.js';
import type { SourcedResource } from '../../../host/config/read-resource.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../../helpers/seed-000-yaml.js';

const PA = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n';

const pa = (namespace: string, name: string, spec: unknown): SourcedResource =>
  ({ resource: { kind: 'PeerAuthentication', namespace, name, spec } }) as unknown as SourcedResource;

describe('peerAuthenticationPolicies', () => {
  test('takes namespace, name, selector, mode (UNSET when absent) and numeric port levels, in load order', () => {
    const out = peerAuthenticationPolicies([
      pa('istio-system', 'default', { mtls: { mode: 'STRICT' } }),
      { resource: { kind: 'DestinationRule', namespace: 'default', name: 'x', spec: {} } } as unknown as SourcedResource,
      pa('default', 'finance', { selector: { matchLabels: { app: 'finance' } }, portLevelMtls: { '8080': { mode: 'DISABLE' }, '9090': {} } }),
      pa('default', 'empty', {}),
    ]);
    expect(out.map((p) => [p.namespace, p.name, p.selector, p.mode, [...p.portLevel]])).toEqual([
      ['istio-system', 'default', null, 'STRICT', []],
      ['default', 'finance', { app: 'finance' }, 'UNSET', [[8080, 'DISABLE'], [9090, 'UNSET']]],
      ['default', 'empty', null, 'UNSET', []],
    ]);
  });

  test('port keys that are not ports 1-65535 are skipped (the security checks refuse them first)', () => {
    const out = peerAuthenticationPolicies([pa('default', 'p', { portLevelMtls: { http: { mode: 'STRICT' }, '0': { mode: 'STRICT' }, '70000': { mode: 'STRICT' }, '443': { mode: 'STRICT' } } })]);
    expect([...out[0]!.portLevel]).toEqual([[443, 'STRICT']]);
  });
});

describe('the sidecar inbound mode in the loaded mesh', () => {
  const load = (yaml: string, options: Parameters<typeof loadConfig>[1]) => loadConfig([tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': yaml }).dir], options).mesh;

  test('with a workload identity: STRICT at mesh level loads and the inbound takes STRICT; nothing set is PERMISSIVE', () => {
    expect(load(`${PA}metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n`, { workloadIdentity: true }).inboundMtlsMode).toBe('STRICT');
    expect(load(`${PA}metadata: {name: other, namespace: elsewhere}\nspec: {mtls: {mode: STRICT}}\n`, { workloadIdentity: true }).inboundMtlsMode).toBe('PERMISSIVE');
  });

  test('a namespace DISABLE over a mesh STRICT wins; a workload port-level STRICT makes the one listener STRICT', () => {
    const base = `${PA}metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n---\n${PA}metadata: {name: default, namespace: default}\nspec: {mtls: {mode: DISABLE}}\n`;
    expect(load(base, { workloadIdentity: true }).inboundMtlsMode).toBe('DISABLE');
    const port = `${base}---\n${PA}metadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  portLevelMtls:\n    8080: {mode: STRICT}\n`;
    expect(load(port, { workloadIdentity: true, labels: { app: 'web' } }).inboundMtlsMode).toBe('STRICT');
    expect(load(port, { workloadIdentity: true, labels: { app: 'other' } }).inboundMtlsMode).toBe('DISABLE');
  });

  test('without a workload identity the mesh carries no inbound mode (plaintext, STRICT let through only by --allow-unenforced-security)', () => {
    expect(load(`${PA}metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: PERMISSIVE}}\n`, {}).inboundMtlsMode).toBeUndefined();
    expect(load(`${PA}metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n`, { allowUnenforcedSecurity: true }).inboundMtlsMode).toBeUndefined();
  });
});
