// credentialName → a Kubernetes TLS secret's files in --credentials-dir, as Istio reads them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolveCredentialFiles } from '../../../host/config/translate/credential-files.js';

function secrets(layout: Record<string, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-creds-'));
  for (const [name, files] of Object.entries(layout)) {
    mkdirSync(join(dir, name));
    for (const f of files) writeFileSync(join(dir, name, f), 'x');
  }
  return dir;
}

describe('resolveCredentialFiles', () => {
  test('tls.crt, tls.key and ca.crt of the secret', () => {
    const dir = secrets({ web: ['tls.crt', 'tls.key', 'ca.crt'] });
    expect(resolveCredentialFiles('web', dir, { keyPair: true, ca: 'required' })).toEqual({
      ok: true,
      files: { name: 'web', certificateChain: join(dir, 'web/tls.crt'), privateKey: join(dir, 'web/tls.key'), caCertificates: join(dir, 'web/ca.crt') },
    });
  });

  test('the CA from the <name>-cacert secret when the secret has none; not looked for with ca none', () => {
    const dir = secrets({ web: ['tls.crt', 'tls.key'], 'web-cacert': ['ca.crt'] });
    const r = resolveCredentialFiles('web', dir, { keyPair: true, ca: 'required' });
    expect(r.ok && r.files.caCertificates).toBe(join(dir, 'web-cacert/ca.crt'));
    const simple = resolveCredentialFiles('web', dir, { keyPair: true, ca: 'none' });
    expect(simple.ok && simple.files.caCertificates).toBeNull();
  });

  test('a missing file is named by its path', () => {
    const dir = secrets({ web: ['tls.crt'] });
    expect(resolveCredentialFiles('web', dir, { keyPair: true, ca: 'none' })).toEqual({ ok: false, reason: `credentialName "web": ${join(dir, 'web/tls.key')} does not exist (a TLS secret has tls.crt and tls.key)` });
    expect(resolveCredentialFiles('nope', dir, { keyPair: true, ca: 'none' })).toMatchObject({ ok: false, reason: expect.stringContaining(join(dir, 'nope/tls.crt')) });
  });

  test('a required CA that is absent names both places looked', () => {
    const dir = secrets({ web: ['tls.crt', 'tls.key'] });
    const r = resolveCredentialFiles('web', dir, { keyPair: true, ca: 'required' });
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining(`neither ${join(dir, 'web/ca.crt')} nor ${join(dir, 'web-cacert/ca.crt')} exists`) });
    expect(resolveCredentialFiles('web', dir, { keyPair: true, ca: 'optional' })).toMatchObject({ ok: true, files: { caCertificates: null } });
  });

  test('without a directory the flag is named; a name that could leave the directory is refused', () => {
    expect(resolveCredentialFiles('web', undefined, { keyPair: true, ca: 'none' })).toMatchObject({ ok: false, reason: expect.stringContaining('needs --credentials-dir <dir>') });
    for (const bad of ['../etc', 'a/b', 'Web', '']) {
      expect(resolveCredentialFiles(bad, '/tmp', { keyPair: true, ca: 'none' })).toMatchObject({ ok: false, reason: expect.stringContaining('is not a Kubernetes secret name') });
    }
  });
});
