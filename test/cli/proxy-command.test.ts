// `wasmesh proxy`'s flags: --labels, --workers and --access-log parsed with clear refusals (exit 2
// before anything starts), where access-log lines go, and a --help whose example does what it says.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../host/cli/main.js';
import { openAccessLog, parseLabels, parseWorkers, PROXY_SPEC } from '../../host/cli/proxy-command.js';
import { parseArgs, UsageError } from '../../host/cli/args.js';
import { loadConfig } from '../../host/config/load-config.js';
import { fakeIo } from '../helpers/fake-io.js';

describe('--labels', () => {
  it('reads comma-separated key=value pairs, Kubernetes label syntax', () => {
    expect(parseLabels('app=web,version=v1')).toEqual({ app: 'web', version: 'v1' });
    expect(parseLabels(' app.kubernetes.io/name=web , tier= ')).toEqual({ 'app.kubernetes.io/name': 'web', tier: '' });
    expect(parseLabels('')).toEqual({});
  });

  it('refuses what is not a label, naming it', () => {
    for (const bad of ['app', '=web', 'app=we b', 'a b=c', 'app=web,app=api']) {
      expect(() => parseLabels(bad)).toThrow(UsageError);
    }
    expect(() => parseLabels('app=web,version')).toThrow(/"version" is not a key=value label/);
    expect(() => parseLabels('app=web,app=api')).toThrow(/"app" is given twice/);
  });

  it('a bad --labels exits 2 before anything starts', async () => {
    const io = fakeIo();
    const code = await main(['proxy', '-f', 'examples/000-web-demo', '--listen', '127.0.0.1:0', '--labels', 'nonsense'], io);
    expect(code).toBe(2);
    expect(io.stderr).toContain('--labels');
  });
});

describe('wasmesh proxy --help', () => {
  it('gives an example that serves the 80/20 split it describes', async () => {
    const io = fakeIo();
    expect(await main(['proxy', '--help'], io)).toBe(0);
    const help = io.stdout;
    // The example command, its continuation lines joined.
    const command = help.replace(/\\\n\s*/g, '').split('\n').find((l) => l.trim().startsWith('wasmesh proxy '))!;
    const { values } = parseArgs(PROXY_SPEC, command.trim().split(/\s+/).slice(2));
    const loaded = loadConfig(values.file as string[], { gateway: values.gateway as string });
    const weights = loaded.mesh.virtualHosts.flatMap((vh) => vh.routes.flatMap((r) => r.destinations.map((d) => `${d.cluster} ${d.weight}`)));
    expect(weights).toEqual(['outbound|5005|v1|web.default.svc.cluster.local 80', 'outbound|5005|v2|web.default.svc.cluster.local 20']);
    expect(help).toMatch(/80% v1 \/ 20% v2/);
  });
});

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
    expect(openAccessLog('off', io)).toBeNull();
    openAccessLog('-', io)!.write('line\n');
    expect(io.stdout).toBe('line\n');
  });

  it('a path: appended to the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-al-'));
    try {
      const file = join(dir, 'access.log');
      const a = openAccessLog(file, fakeIo())!;
      a.write('one\n');
      a.close();
      const b = openAccessLog(file, fakeIo())!;
      b.write('two\n');
      b.close();
      expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a path that cannot be opened is a usage error naming it', () => {
    expect(() => openAccessLog('/nonexistent-dir/x.log', fakeIo())).toThrow(/--access-log: cannot open "\/nonexistent-dir\/x.log" for appending: ENOENT/);
  });
});
