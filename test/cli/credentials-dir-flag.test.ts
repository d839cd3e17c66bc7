// `--credentials-dir`: an existing directory, made absolute; anything else a usage error naming it.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../../host/cli/args.js';
import { credentialsDirFromFlags } from '../../host/cli/credentials-dir-flag.js';

describe('credentialsDirFromFlags', () => {
  it('absent: none; a directory: absolute', () => {
    expect(credentialsDirFromFlags('wasmesh proxy', {})).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-creds-'));
    expect(credentialsDirFromFlags('wasmesh proxy', { 'credentials-dir': dir })).toBe(resolve(dir));
  });

  it('a missing path or a file is a usage error naming it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wasmesh-creds-')), 'f');
    writeFileSync(file, '');
    for (const bad of ['/nonexistent/creds', file]) {
      expect(() => credentialsDirFromFlags('wasmesh proxy', { 'credentials-dir': bad })).toThrow(UsageError);
      expect(() => credentialsDirFromFlags('wasmesh proxy', { 'credentials-dir': bad })).toThrow(`--credentials-dir: "${bad}" is not a directory`);
    }
  });
});

describe('the commands that take it', () => {
  it('wasmesh sidecar declares it (a DestinationRule credentialName is found there), and refuses a bad one before starting', async () => {
    const { SIDECAR_SPEC, sidecarCommand } = await import('../../host/cli/sidecar-command.js');
    expect(SIDECAR_SPEC.flags.map((f) => f.name)).toContain('credentials-dir');
    const io = { out: () => {}, err: () => {} } as unknown as Parameters<typeof sidecarCommand>[1];
    await expect(sidecarCommand(['-f', tmpdir(), '--app-ports', '5005', '--credentials-dir', '/nonexistent/creds'], io)).rejects.toThrow('--credentials-dir: "/nonexistent/creds" is not a directory');
  });
});
