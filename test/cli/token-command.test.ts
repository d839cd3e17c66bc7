// `wasmesh token`: a token file the CA accepts for exactly that namespace and service account,
// written 0600 and replaced whole; bad flags are usage errors.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../host/cli/args.js';
import { main } from '../../host/cli/main.js';
import { tokenCommand } from '../../host/cli/token-command.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { verifyToken } from '../../host/identity/workload-token.js';
import { fakeIo } from '../helpers/fake-io.js';

describe('wasmesh token', () => {
  it('writes a token (0600) that verifies with the CA dir\'s key to that namespace and service account, valid for --ttl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-token-cli-'));
    const out = join(dir, 'cart.token');
    writeFileSync(out, 'old');
    const io = fakeIo();
    expect(await main(['token', '--namespace', 'shop', '--service-account', 'cart', '--ca-dir', join(dir, 'ca'), '--ttl', '90s', '-o', out], io)).toBe(0);
    expect(io.stderr).toMatch(/token for namespace shop, service account cart, valid 90 s, written to .*cart.token/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const token = readFileSync(out, 'utf8');
    expect(verifyToken(token, [openTokenKey(join(dir, 'ca'))])).toEqual({ namespace: 'shop', serviceAccount: 'cart' });
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(90);
    // Signed by the key in the CA dir: a token for another dir's key does not verify.
    expect(() => verifyToken(token, [openTokenKey(mkdtempSync(join(tmpdir(), 'wasmesh-token-other-')))])).toThrow(/foreign key/);
  });

  it('prints to standard output without -o', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-token-cli-'));
    const io = fakeIo();
    expect(await tokenCommand(['--namespace', 'default', '--service-account', 'sleep', '--ca-dir', dir], io)).toBe(0);
    expect(verifyToken(io.stdout.trim(), [openTokenKey(dir)]).serviceAccount).toBe('sleep');
  });

  it('bad flags are usage errors naming the fault', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-token-cli-'));
    await expect(tokenCommand(['--service-account', 'a', '--ca-dir', dir], fakeIo())).rejects.toThrow(/--namespace is required/);
    await expect(tokenCommand(['--namespace', 'a', '--ca-dir', dir], fakeIo())).rejects.toThrow(/--service-account is required/);
    await expect(tokenCommand(['--namespace', 'Shop', '--service-account', 'a', '--ca-dir', dir], fakeIo())).rejects.toThrow(UsageError);
    await expect(tokenCommand(['--namespace', 'a', '--service-account', 'a', '--ttl', '5', '--ca-dir', dir], fakeIo())).rejects.toThrow(/--ttl: "5" is not a valid duration/);
    const io = fakeIo();
    expect(await tokenCommand(['--namespace', 'a', '--service-account', 'b', '--ca-dir', dir, '-o', join(dir, 'missing', 'x.token')], io)).toBe(1);
    expect(io.stderr).toMatch(/cannot write .*missing\/x.token/);
  });
});
