// `wasmesh proxy --workers` and `--access-log`: parsing, clear refusals, and where lines go.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessLogSink, parseWorkers } from '../../host/cli/proxy-command.js';
import { UsageError } from '../../host/cli/args.js';
import { main } from '../../host/cli/main.js';
import type { CliIo } from '../../host/cli/cli-io.js';

function fakeIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(text: string) { io.stdout += text; },
    err(text: string) { io.stderr += text; },
    stopRequested: () => new Promise<string>(() => {}),
    onReloadRequest: () => () => {},
    commandDone: () => {},
  };
  return io;
}

describe('--workers', () => {
  it('takes a whole number from 1 to 256', () => {
    expect(parseWorkers('1')).toBe(1);
    expect(parseWorkers('4')).toBe(4);
    for (const bad of ['0', '-1', '1.5', 'two', '', '257']) expect(() => parseWorkers(bad)).toThrow(UsageError);
    expect(() => parseWorkers('two')).toThrow(/--workers: expected a whole number from 1 to 256, got "two"/);
  });

  it('is listed in the help with --access-log', async () => {
    const io = fakeIo();
    expect(await main(['proxy', '--help'], io)).toBe(0);
    expect(io.stdout).toContain('--workers');
    expect(io.stdout).toContain('--access-log');
  });

  it('a bad --workers exits 2 before anything starts', async () => {
    const io = fakeIo();
    expect(await main(['proxy', '-f', 'examples/000-web-demo', '--listen', '127.0.0.1:0', '--workers', 'many'], io)).toBe(2);
    expect(io.stderr).toContain('--workers');
  });
});

describe('--access-log', () => {
  it('off: no sink; - : stdout', () => {
    const io = fakeIo();
    expect(accessLogSink('off', io)).toBeNull();
    accessLogSink('-', io)!.write('line\n');
    expect(io.stdout).toBe('line\n');
  });

  it('a path: appended to the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-al-'));
    try {
      const file = join(dir, 'access.log');
      const a = accessLogSink(file, fakeIo())!;
      a.write('one\n');
      a.close();
      const b = accessLogSink(file, fakeIo())!;
      b.write('two\n');
      b.close();
      expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a path that cannot be opened is a usage error naming it', () => {
    expect(() => accessLogSink('/nonexistent-dir/x.log', fakeIo())).toThrow(/--access-log: cannot open "\/nonexistent-dir\/x.log" for appending: ENOENT/);
  });
});
