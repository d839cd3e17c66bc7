// kubeAccess: which kubeconfig is read (--kubeconfig, $KUBECONFIG, in-cluster), what is taken
// from it (server, CA data or file, insecure-skip-tls-verify, token or tokenFile, client
// certificate) and the located refusals (no current-context, a missing cluster, exec plugins).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubeAccess } from '../../host/kube/kube-access.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-kubeaccess-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function config(user: string, cluster = 'server: https://10.0.0.1:6443\n    certificate-authority: ca.pem'): string {
  const file = join(dir, 'config');
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config',
    'clusters:', '- name: c', '  cluster:', `    ${cluster}`,
    'users:', '- name: u', '  user:', ...user.split('\n').map((l) => `    ${l}`),
    'contexts:', '- name: x', '  context: {cluster: c, user: u}',
    'current-context: x', '',
  ].join('\n'));
  return file;
}

describe('kubeAccess', () => {
  it('reads server, a CA file relative to the kubeconfig, and an inline token', () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
    const a = kubeAccess(config('token: abc'));
    expect(a.server).toBe('https://10.0.0.1:6443');
    expect(a.ca).toBe('CA PEM');
    expect(a.token?.()).toBe('abc');
    expect(a.insecureSkipTlsVerify).toBe(false);
    expect(a.origin).toMatch(/context x/);
  });

  it('reads certificate data, a tokenFile (re-read each time) and insecure-skip-tls-verify', () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'one\n');
    const file = config(`tokenFile: ${tokenFile}\nclient-certificate-data: ${Buffer.from('CERT').toString('base64')}\nclient-key-data: ${Buffer.from('KEY').toString('base64')}`, 'server: https://k:443/\n    insecure-skip-tls-verify: true');
    const a = kubeAccess(file);
    expect(a).toMatchObject({ server: 'https://k:443', cert: 'CERT', key: 'KEY', insecureSkipTlsVerify: true });
    expect(a.token?.()).toBe('one');
    writeFileSync(tokenFile, 'two\n');
    expect(a.token?.()).toBe('two');
  });

  it('takes the first existing file of $KUBECONFIG when --kubeconfig is absent', () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    const file = config('token: t');
    expect(kubeAccess(undefined, { KUBECONFIG: `${join(dir, 'missing')}:${file}` }).server).toBe('https://10.0.0.1:6443');
  });

  it('in a cluster without a mounted token says what is missing', () => {
    expect(() => kubeAccess(undefined, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' })).toThrow(/in-cluster: \/var\/run\/secrets\/kubernetes.io\/serviceaccount\/token is missing/);
  });

  it('refuses exec plugins, a missing context and a cluster without server, naming the file', () => {
    const file = config('exec: {command: gke-gcloud-auth-plugin}');
    expect(() => kubeAccess(file)).toThrow(new RegExp(`kubeconfig ${file}: user "u" authenticates with an exec or auth-provider plugin`));
    writeFileSync(join(dir, 'bad'), 'apiVersion: v1\nkind: Config\ncurrent-context: nope\n');
    expect(() => kubeAccess(join(dir, 'bad'))).toThrow(/current-context "nope" is not among its contexts/);
    expect(() => kubeAccess(config('token: t', 'insecure-skip-tls-verify: true'))).toThrow(/cluster "c" of context "x" is missing or has no server/);
  });
});
