// Security settings wasmesh cannot enforce yet never fail open: each is a located
// `unenforced_security` error, or with allowUnenforcedSecurity exactly one NOT ENFORCED warning;
// settings that ask for nothing beyond plaintext and no access control load (Istio's semantics,
// docs/config-decisions.md "Security resources").
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, type ConfigIssue } from '../../host/config/index.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../helpers/seed-000-yaml.js';

const PA = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n';
const AP = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n';
const RA = 'apiVersion: security.istio.io/v1beta1\nkind: RequestAuthentication\n';
const DR = 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\n';
const GW = 'apiVersion: networking.istio.io/v1\nkind: Gateway\n';

function issuesOf(yaml: string, options: { gateway?: string } = {}): ConfigIssue[] {
  const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': yaml });
  try {
    loadConfig([t.dir], options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

/** [code, line, kind name, path] of each issue. */
const located = (issues: ConfigIssue[]) => issues.map((i) => [i.code, i.line, `${i.kind} ${i.name}`, i.path]);

function loads(yaml: string, allowUnenforcedSecurity = false) {
  const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': yaml });
  return loadConfig([t.dir], allowUnenforcedSecurity ? { allowUnenforcedSecurity } : {});
}

describe('PeerAuthentication', () => {
  test('STRICT at mesh, namespace, workload and port level: each an error where it is written', () => {
    const issues = issuesOf(`${PA}metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
---
${PA}metadata: {name: default, namespace: foo}
spec:
  mtls:
    mode: STRICT
---
${PA}metadata: {name: finance}
spec:
  selector: {matchLabels: {app: finance}}
  mtls: {mode: UNSET}
  portLevelMtls:
    8080: {mode: STRICT}
    9090: {mode: DISABLE}
`);
    expect(located(issues)).toEqual([
      ['unenforced_security', 5, 'PeerAuthentication istio-system/default', 'spec.mtls.mode'],
      ['unenforced_security', 12, 'PeerAuthentication foo/default', 'spec.mtls.mode'],
      ['unenforced_security', 21, 'PeerAuthentication default/finance', 'spec.portLevelMtls["8080"].mode'],
    ]);
    expect(issues[0]!.reason).toBe(
      'PeerAuthentication istio-system/default cannot be enforced by this version: mutual TLS mode STRICT (only mTLS connections accepted): ' +
        'the proxy has no workload identity (start it with --token-file or --cert-dir, so that it gets its certificate from the mesh CA), so plaintext connections would be accepted; refusing to serve open (--allow-unenforced-security runs without it)',
    );
    expect(issues[2]!.reason).toMatch(/mutual TLS mode STRICT on port 8080/);
  });

  test('PERMISSIVE, DISABLE and UNSET (mesh, namespace, workload, port level) load: they ask for nothing beyond plaintext', () => {
    const config = loads(`${PA}metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: PERMISSIVE}
---
${PA}metadata: {name: default, namespace: foo}
spec:
  mtls: {mode: DISABLE}
---
${PA}metadata: {name: finance}
spec:
  selector: {matchLabels: {app: finance}}
  mtls: {mode: UNSET}
  portLevelMtls:
    8080: {mode: PERMISSIVE}
    9090: {mode: DISABLE}
    9091: {mode: UNSET}
---
${PA}metadata: {name: empty}
`);
    expect(config.resources.filter((r) => r.kind === 'PeerAuthentication').map((r) => r.name)).toEqual(['default', 'default', 'finance', 'empty']);
    const w = config.warnings.filter((x) => x.includes('PeerAuthentication'));
    expect(w).toEqual([expect.stringMatching(/istio-system\/default: spec\.mtls\.mode: PERMISSIVE: the proxy has no workload identity \(start it with --token-file or --cert-dir.*it accepts plaintext only, mTLS clients cannot connect/)]);
  });

  test('a misspelt mode field is an error, never read as UNSET', () => {
    const issues = issuesOf(`${PA}metadata: {name: default}
spec:
  mtls: {mod: STRICT}
`);
    expect(located(issues)).toEqual([['unknown_field', 5, 'PeerAuthentication default/default', 'spec.mtls.mod']]);
    expect(located(issuesOf(`${PA}metadata: {name: default}\nspec:\n  mtls: {mode: strict}\n`))).toEqual([
      ['invalid_value', 5, 'PeerAuthentication default/default', 'spec.mtls.mode'],
    ]);
    expect(located(issuesOf(`${PA}metadata: {name: default}\nspec:\n  portLevelMtls:\n    http: {mode: DISABLE}\n`))).toEqual([
      ['invalid_value', 6, 'PeerAuthentication default/default', 'spec.portLevelMtls.http'],
    ]);
  });

  test('the later definition wins before the check: STRICT replaced by PERMISSIVE loads', () => {
    const config = loads(`${PA}metadata: {name: default}
spec: {mtls: {mode: STRICT}}
---
${PA}metadata: {name: default}
spec: {mtls: {mode: PERMISSIVE}}
`);
    expect(config.warnings.some((w) => w.includes('the later definition wins'))).toBe(true);
  });
});

describe('AuthorizationPolicy', () => {
  test('is enforced: no policy is refused as unenforced, each reaches mesh.authorization (Istio: spec {} and rules [] deny everything)', () => {
    const config = loads(`${AP}metadata: {name: deny-all}
spec: {}
---
${AP}metadata: {name: no-spec}
---
${AP}metadata: {name: allow-get}
spec:
  rules:
  - to: [{operation: {methods: [GET]}}]
---
${AP}metadata: {name: deny-post}
spec:
  action: DENY
  rules:
  - to: [{operation: {methods: [POST]}}]
---
${AP}metadata: {name: audit}
spec:
  action: AUDIT
  rules: [{}]
---
${AP}metadata: {name: empty-rules}
spec:
  rules: []
`);
    expect(config.warnings.filter((w) => /NOT ENFORCED|unenforced/.test(w))).toEqual([]);
    expect(config.mesh.authorization!.map((p) => [p.name, p.action, p.rules.length])).toEqual([
      ['default/allow-get', 'ALLOW', 1],
      ['default/audit', 'AUDIT', 1],
      ['default/deny-all', 'ALLOW', 0],
      ['default/deny-post', 'DENY', 1],
      ['default/empty-rules', 'ALLOW', 0],
      ['default/no-spec', 'ALLOW', 0],
    ]);
  });

  test('CUSTOM names a provider of meshConfig extensionProviders; none defined is a located error, not a gate', () => {
    const issues = issuesOf(`${AP}metadata: {name: ext}
spec:
  action: CUSTOM
  provider: {name: opa}
  rules: [{}]
`);
    expect(located(issues)).toEqual([['invalid_value', 6, 'AuthorizationPolicy default/ext', 'spec.provider.name']]);
    expect(issues[0]!.reason).toMatch(/no ext_authz provider named "opa" in meshConfig extensionProviders \(none defined\)/);
  });

  test('a DENY policy without rules is refused as Istio refuses it; AUDIT without rules and allow-all load', () => {
    expect(located(issuesOf(`${AP}metadata: {name: deny-nothing}\nspec: {action: DENY}\n`))).toEqual([['missing_field', 4, 'AuthorizationPolicy default/deny-nothing', 'spec']]);
    const config = loads(`${AP}metadata: {name: allow-all}
spec:
  action: ALLOW
  rules: [{}, {from: [], to: [], when: []}]
---
${AP}metadata: {name: audit-nothing}
spec: {action: AUDIT, rules: []}
`);
    expect(config.mesh.authorization!.map((p) => [p.name, p.rules.map((r) => [r.from.length, r.to.length, r.when.length])])).toEqual([
      ['default/allow-all', [[0, 0, 0], [0, 0, 0]]],
      ['default/audit-nothing', []],
    ]);
  });

  test('a misspelt field is an error, so `rule:` never reads as a DENY policy without rules', () => {
    expect(located(issuesOf(`${AP}metadata: {name: x}\nspec:\n  action: DENY\n  rule:\n  - to: [{operation: {methods: [POST]}}]\n`))).toEqual([
      ['unknown_field', 6, 'AuthorizationPolicy default/x', 'spec.rule'],
    ]);
    expect(located(issuesOf(`${AP}metadata: {name: x}\nspec:\n  action: DENY\n  rules:\n  - to: [{operation: {method: [POST]}}]\n`))[0]).toEqual(
      ['unknown_field', 7, 'AuthorizationPolicy default/x', 'spec.rules[0].to[0].operation.method'],
    );
  });
});

describe('RequestAuthentication', () => {
  test('jwtRules are enforced (no longer refused); none is a no-op', () => {
    const config = loads(`${RA}metadata: {name: jwt}
spec:
  jwtRules:
  - issuer: https://accounts.example.com
    jwksUri: https://accounts.example.com/jwks
`);
    expect(config.mesh.jwtRules?.map((r) => r.issuer)).toEqual(['https://accounts.example.com']);
    const none = loads(`${RA}metadata: {name: none}\nspec: {jwtRules: []}\n`);
    expect(none.warnings.filter((x) => x.includes('RequestAuthentication'))).toEqual([expect.stringMatching(/has no jwtRules, so it validates nothing/)]);
    expect(none.mesh.jwtRules).toBeUndefined();
  });
});

describe('DestinationRule tls', () => {
  test('ISTIO_MUTUAL at service, subset and port level is refused without a workload identity, naming the flags; SIMPLE and MUTUAL load', () => {
    const issues = issuesOf(`${DR}metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings:
    - port: {number: 5005}
      tls: {mode: SIMPLE, sni: web.example.com}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 5005}
        tls: {mode: ISTIO_MUTUAL}
`);
    expect(located(issues)).toEqual([
      ['unenforced_security', 7, 'DestinationRule default/web', 'spec.trafficPolicy.tls.mode'],
      ['unenforced_security', 21, 'DestinationRule default/web', 'spec.subsets[1].trafficPolicy.portLevelSettings[0].tls.mode'],
    ]);
    expect(issues[0]!.reason).toMatch(/tls mode ISTIO_MUTUAL .*no workload identity \(start it with --token-file or --cert-dir/);
  });

  test('SIMPLE and MUTUAL from files reach the clusters; MUTUAL without its files and a credentialName without --credentials-dir are refused', () => {
    const loaded = loads(`${DR}metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    tls: {mode: SIMPLE, sni: web.example.com, caCertificates: /ca.pem}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}
`);
    const byName = new Map(loaded.mesh.clusters.map((c) => [c.name, c.tls]));
    expect([...byName.values()].filter((t) => t !== undefined).map((t) => t!.mode).sort()).toEqual(['MUTUAL', 'SIMPLE']);
    expect([...byName.entries()].find(([n]) => n.includes('|v1|'))![1]).toEqual({ mode: 'MUTUAL', clientCertificate: '/c.pem', privateKey: '/k.pem', auto: false });
    const issues = issuesOf(`${DR}metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    tls: {mode: MUTUAL, clientCertificate: /c.pem}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      tls: {mode: SIMPLE, credentialName: web-cacert}
`);
    expect(located(issues)).toEqual([
      ['missing_field', 7, 'DestinationRule default/web', 'spec.trafficPolicy.tls.privateKey'],
      ['invalid_value', 12, 'DestinationRule default/web', 'spec.subsets[0].trafficPolicy.tls.credentialName'],
    ]);
    expect(issues[1]!.reason).toMatch(/credentialName "web-cacert" needs --credentials-dir <dir>/);
  });

  test('credentialName is read from --credentials-dir as Kubernetes TLS secrets: MUTUAL takes tls.crt, tls.key and ca.crt, SIMPLE the CA', () => {
    const creds = { dir: mkdtempSync(join(tmpdir(), 'wasmesh-creds-')) };
    for (const [f, text] of Object.entries({ 'client/tls.crt': 'c', 'client/tls.key': 'k', 'client/ca.crt': 'ca', 'server-ca-cacert/ca.crt': 'ca2', 'nokey/tls.crt': 'c' })) {
      mkdirSync(join(creds.dir, dirname(f)), { recursive: true });
      writeFileSync(join(creds.dir, f), text);
    }
    const yaml = `${DR}metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    tls: {mode: MUTUAL, credentialName: client, privateKey: /ignored.pem}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      tls: {mode: SIMPLE, credentialName: server-ca}
`;
    const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': yaml });
    const loaded = loadConfig([t.dir], { credentialsDir: creds.dir });
    const byName = new Map(loaded.mesh.clusters.map((c) => [c.name, c.tls]));
    expect([...byName.entries()].find(([n]) => n.includes('||'))![1]).toEqual({
      mode: 'MUTUAL', clientCertificate: `${creds.dir}/client/tls.crt`, privateKey: `${creds.dir}/client/tls.key`, caCertificates: `${creds.dir}/client/ca.crt`, auto: false,
    });
    expect([...byName.entries()].find(([n]) => n.includes('|v1|'))![1]).toEqual({ mode: 'SIMPLE', caCertificates: `${creds.dir}/server-ca-cacert/ca.crt`, auto: false });
    expect(loaded.warnings.join('\n')).toMatch(/credentialName client is used; privateKey is ignored/);
    const refused = (tls: string) => {
      try {
        loadConfig([tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': `${DR}metadata: {name: web}\nspec:\n  host: web\n  trafficPolicy:\n    tls: ${tls}\n` }).dir], { credentialsDir: creds.dir, workloadIdentity: true });
      } catch (err) {
        return (err as ConfigError).issues.map((i) => [i.code, i.path, i.reason]);
      }
      return [];
    };
    expect(refused('{mode: MUTUAL, credentialName: nokey}')).toEqual([['invalid_value', 'spec.trafficPolicy.tls.credentialName', expect.stringMatching(/nokey\/tls\.key does not exist/)]]);
    expect(refused('{mode: MUTUAL, credentialName: absent}')).toEqual([['invalid_value', 'spec.trafficPolicy.tls.credentialName', expect.stringMatching(/absent\/tls\.crt does not exist/)]]);
    expect(refused('{mode: SIMPLE, credentialName: ../etc}')).toEqual([['invalid_value', 'spec.trafficPolicy.tls.credentialName', expect.stringMatching(/not a Kubernetes secret name/)]]);
    expect(refused('{mode: ISTIO_MUTUAL, credentialName: client}')).toEqual([['invalid_value', 'spec.trafficPolicy.tls.credentialName', expect.stringMatching(/ISTIO_MUTUAL takes the certificate from the mesh/)]]);
  });

  test('with a workload identity ISTIO_MUTUAL loads with Istio\'s SNI; without one and with --allow-unenforced-security it is plaintext', () => {
    const yaml = `${DR}metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
`;
    const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': yaml });
    const withId = loadConfig([t.dir], { workloadIdentity: true });
    const c = withId.mesh.clusters.find((x) => x.subset === null)!;
    expect(c.tls).toMatchObject({ mode: 'ISTIO_MUTUAL', sni: `outbound_.${c.port}_._.${c.host}`, auto: false });
    const open = loads(yaml, true);
    expect(open.mesh.clusters.every((x) => x.tls === undefined)).toBe(true);
    expect(open.warnings.join('\n')).toMatch(/NOT ENFORCED: tls mode ISTIO_MUTUAL/);
  });

  test('mode DISABLE loads silently; other fields without a mode (DISABLE) are warned to have no effect', () => {
    const config = loads(`${DR}metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    tls: {mode: DISABLE}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      tls: {sni: web.example.com}
`);
    expect(config.warnings.filter((w) => w.includes('tls'))).toEqual([
      expect.stringMatching(/spec\.subsets\[0\]\.trafficPolicy\.tls: mode unset \(DISABLE\): sni has no effect, connections are plaintext$/),
    ]);
  });
});

describe('Gateway servers[].tls', () => {
  test('ISTIO_MUTUAL and unserved fields are refused where written; termination, passthrough (translate/gateway-passthrough.ts) and httpsRedirect are not', () => {
    const issues = issuesOf(`${GW}metadata: {name: gw}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: web-cert}
  - port: {number: 8443, name: tls, protocol: TLS}
    hosts: ["*"]
    tls: {credentialName: web-cert}
  - port: {number: 9443, name: tls2, protocol: TLS}
    hosts: ["*"]
    tls: {mode: AUTO_PASSTHROUGH}
  - port: {number: 9444, name: https2, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: ISTIO_MUTUAL}
  - port: {number: 9445, name: https3, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: MUTUAL, credentialName: web-cert, caCrl: /crl.pem}
`);
    expect(located(issues)).toEqual([
      ['unenforced_security', 20, 'Gateway default/gw', 'spec.servers[4].tls.mode'],
      ['unenforced_security', 23, 'Gateway default/gw', 'spec.servers[5].tls.caCrl'],
    ]);
    expect(issues[0]!.reason).toMatch(/TLS mode ISTIO_MUTUAL on port 9444 \(mutual TLS with the mesh's certificates\)/);
    expect(issues[1]!.reason).toMatch(/caCrl on port 9445 \(client certificates checked against a revocation list\): not served at the gateway yet/);
  });
});

describe('--allow-unenforced-security', () => {
  const EVERYTHING = `${PA}metadata: {name: default}
spec: {mtls: {mode: STRICT}}
---
${DR}metadata: {name: web}
spec:
  host: web
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
---
${GW}metadata: {name: gw}
spec:
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: ISTIO_MUTUAL}
`;

  test('the load succeeds with one NOT ENFORCED warning per setting, and serves what it would without them', () => {
    expect(issuesOf(EVERYTHING).length).toBe(3);
    const config = loads(EVERYTHING, true);
    const notEnforced = config.warnings.filter((w) => w.includes('NOT ENFORCED'));
    expect(notEnforced.map((w) => /(\w+ default\/[\w-]+): (\S+): NOT ENFORCED/.exec(w)!.slice(1))).toEqual([
      ['PeerAuthentication default/default', 'spec.mtls.mode'],
      ['Gateway default/gw', 'spec.servers[0].tls.mode'],
      ['DestinationRule default/web', 'spec.trafficPolicy.tls.mode'],
    ]);
    for (const w of notEnforced) expect(w).toMatch(/; served without this protection because of --allow-unenforced-security$/);
    // The data path is exactly what the same files serve without the security resources.
    const plain = loads(`${DR}metadata: {name: web}\nspec: {host: web}\n`);
    expect(config.mesh).toEqual(plain.mesh);
  });
});
