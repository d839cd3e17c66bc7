// How a document's apiVersion/kind is sorted: read, skipped with a warning (Istio kinds not
// served yet, Kubernetes kinds), or an error that says what was probably meant.
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, type ConfigIssue } from '../../host/config/index.js';
import { kindSuggestion } from '../../host/config/api-kinds.js';
import { tempYaml } from '../helpers/temp-yaml.js';

function doc(apiVersion: string, kind: string, name = 'x'): string {
  return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}}\nspec: {}\n`;
}

function outcome(yaml: string): { issues: ConfigIssue[]; warnings: string[] } {
  const t = tempYaml({ 'a.yaml': yaml });
  try {
    return { issues: [], warnings: loadConfig([t.dir]).warnings };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { issues: err.issues, warnings: [] };
  }
}

/** The one issue of loading `yaml`: [code, line, path, reason]. */
function theIssue(yaml: string): [string, number | null, string, string] {
  const { issues } = outcome(yaml);
  expect(issues).toHaveLength(1);
  const i = issues[0]!;
  return [i.code, i.line, i.path, i.reason];
}

describe('an unknown kind is an error with the nearest known kind', () => {
  test('a misspelt kind in a known Istio group', () => {
    expect(theIssue(doc('networking.istio.io/v1', 'VirtualServce'))).toEqual([
      'unknown_kind', 2, 'kind',
      'unknown kind "VirtualServce": networking.istio.io defines Gateway, VirtualService, DestinationRule, ServiceEntry, WorkloadEntry, WorkloadGroup, Sidecar, EnvoyFilter, ProxyConfig (did you mean VirtualService?)',
    ]);
    expect(theIssue(doc('networking.istio.io/v1alpha3', 'DestinationRul'))[3]).toMatch(/\(did you mean DestinationRule\?\)$/);
    expect(theIssue(doc('networking.istio.io/v1', 'virtualservice'))[3]).toMatch(/\(did you mean VirtualService\?; kinds are case-sensitive\)$/);
    expect(theIssue(doc('security.istio.io/v1', 'AuthorisationPolicy'))[3]).toMatch(/\(did you mean AuthorizationPolicy\?\)$/);
  });

  test('a kind of another Istio group names the apiVersion to write', () => {
    expect(theIssue(doc('networking.istio.io/v1', 'PeerAuthentication'))).toEqual([
      'unknown_kind', 2, 'kind', 'PeerAuthentication is a security.istio.io kind, not networking.istio.io: write apiVersion: security.istio.io/v1',
    ]);
  });

  test('an Istio kind under a non-Istio apiVersion is an error, not a skipped Kubernetes object', () => {
    expect(theIssue(doc('v1', 'VirtualService'))).toEqual([
      'unknown_kind', 2, 'kind', 'VirtualService is an Istio kind: write apiVersion: networking.istio.io/v1 (got v1)',
    ]);
    expect(theIssue(doc('networking.k8s.io/v1', 'Gateway'))[3]).toBe('Gateway is an Istio kind: write apiVersion: networking.istio.io/v1 (got networking.k8s.io/v1)');
  });

  test('an unknown kind in a non-Istio group: error, with a suggestion when one is near', () => {
    expect(theIssue(doc('v1', 'Servce'))).toEqual([
      'unknown_kind', 2, 'kind', 'unknown kind "Servce" (apiVersion v1): neither an Istio resource nor a Kubernetes kind wasmesh knows to skip (did you mean Service?)',
    ]);
    expect(theIssue(doc('apps/v1', 'Deploymnet'))[3]).toMatch(/\(did you mean Deployment\?\)$/);
    expect(theIssue(doc('v1', 'VirtualServce'))[3]).toMatch(/\(did you mean VirtualService \(apiVersion: networking\.istio\.io\/v1\)\?\)$/);
    expect(theIssue(doc('example.com/v1', 'Widget'))[3]).toBe('unknown kind "Widget" (apiVersion example.com/v1): neither an Istio resource nor a Kubernetes kind wasmesh knows to skip');
  });

  test('Istio groups: an unknown version, a misspelt group, a group current Istio removed', () => {
    expect(theIssue(doc('security.istio.io/v1alpha1', 'PeerAuthentication'))).toEqual([
      'unknown_api_version', 1, 'apiVersion', 'security.istio.io/v1alpha1 is not a security.istio.io version current Istio serves (v1, v1beta1)',
    ]);
    expect(theIssue(doc('networkin.istio.io/v1', 'VirtualService'))[3]).toMatch(/^networkin\.istio\.io is not an Istio API group \(known: .*\) \(did you mean networking\.istio\.io\?\)$/);
    expect(theIssue(doc('rbac.istio.io/v1alpha1', 'ServiceRole'))[3]).toBe(
      'rbac.istio.io/v1alpha1 ServiceRole: rbac.istio.io was removed in Istio 1.6: access control is AuthorizationPolicy (security.istio.io/v1); current Istio does not accept it',
    );
    expect(theIssue(doc('authentication.istio.io/v1alpha1', 'Policy'))[0]).toBe('unknown_api_version');
  });
});

describe('known kinds that are not served are skipped with a warning', () => {
  test('Istio kinds not served yet say nothing they configure is applied', () => {
    const { issues, warnings } = outcome(
      [doc('networking.istio.io/v1', 'WorkloadGroup', 'a'), doc('networking.istio.io/v1alpha3', 'EnvoyFilter', 'b'), doc('networking.istio.io/v1', 'ProxyConfig', 'c'), doc('extensions.istio.io/v1alpha1', 'WasmPlugin', 'd')].join('---\n'),
    );
    expect(issues).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(/\(document 1\) WorkloadGroup a: networking\.istio\.io\/v1 WorkloadGroup is not served yet; skipped: nothing it configures is applied$/),
      expect.stringMatching(/\(document 2\) EnvoyFilter b: .* is not served yet/),
      expect.stringMatching(/\(document 3\) ProxyConfig c: .* is not served yet/),
      expect.stringMatching(/\(document 4\) WasmPlugin d: .* is not served yet/),
    ]);
  });

  test('the Kubernetes kinds of tutorial files load unchanged (legacy groups too)', () => {
    const kinds: Array<[string, string]> = [
      ['v1', 'Service'], ['apps/v1', 'Deployment'], ['extensions/v1beta1', 'Deployment'], ['v1', 'ServiceAccount'], ['v1', 'ConfigMap'],
      ['v1', 'Namespace'], ['v1', 'Secret'], ['batch/v1', 'Job'], ['networking.k8s.io/v1', 'Ingress'], ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
    ];
    const { issues, warnings } = outcome(kinds.map(([v, k], i) => doc(v, k, `k${i}`)).join('---\n'));
    expect(issues).toEqual([]);
    expect(warnings).toHaveLength(kinds.length);
    for (const w of warnings) expect(w).toMatch(/ skipped: wasmesh runs without Kubernetes/);
  });

  test('the Kubernetes Gateway API is skipped as not served yet', () => {
    const { warnings } = outcome(doc('gateway.networking.k8s.io/v1', 'HTTPRoute') + '---\n' + doc('gateway.networking.k8s.io/v1', 'Gateway', 'y'));
    expect(warnings).toEqual([
      expect.stringMatching(/HTTPRoute x: gateway\.networking\.k8s\.io\/v1 HTTPRoute skipped: the Kubernetes Gateway API is not served yet/),
      expect.stringMatching(/Gateway y: gateway\.networking\.k8s\.io\/v1 Gateway skipped: the Kubernetes Gateway API is not served yet/),
    ]);
  });
});

describe('kindSuggestion', () => {
  test('nothing for a word far from every kind; the apiVersion when the kind is in another group', () => {
    expect(kindSuggestion('Frobnicator', 'networking.istio.io')).toBe('');
    expect(kindSuggestion('Telemtry', 'networking.istio.io')).toBe(' (did you mean Telemetry (apiVersion: telemetry.istio.io/v1)?)');
    expect(kindSuggestion('Telemtry', 'telemetry.istio.io')).toBe(' (did you mean Telemetry?)');
  });
});
