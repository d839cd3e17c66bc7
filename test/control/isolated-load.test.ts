// The proxy's config loader runs host/config in a child process (host/control/isolated-load.ts):
// same result and same errors as loadConfig in-process, a clear error when the child fails, and
// the proxy and sidecar commands never import the config toolchain themselves.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../../host/config/load-config.js';
import { ConfigError } from '../../host/config/config-error.js';
import { isolatedLoadConfig, isolatedLoadConfigAsync, loadInChild, loadInChildAsync, ConfigLoaderProcessError } from '../../host/control/isolated-load.js';
import { ensureBuilt } from '../helpers/wasmesh-process.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('isolatedLoadConfig', () => {
  it('gives exactly what loadConfig gives, for every example (deep, prototypes included)', async () => {
    await ensureBuilt();
    for (const [dir, options] of [
      ['examples/000-web-demo', { gateway: 'web-gateway' }],
      ['examples/002-bookinfo-rules', {}],
      // Seed 003 asks for ISTIO_MUTUAL: the option must reach the child for it to load.
      ['examples/003-istio101', { namespace: 'default', labels: { app: 'web' }, allowUnenforcedSecurity: true }],
    ] as const) {
      const sources = [join(ROOT, dir)];
      expect(isolatedLoadConfig(sources, options)).toStrictEqual(loadConfig(sources, options));
    }
  }, 60_000);

  it('throws the same ConfigError (message, code, located issues) for a refused config', async () => {
    await ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-isolated-'));
    try {
      writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: 5}\n');
      let inProcess: unknown;
      try {
        loadConfig([dir]);
      } catch (err) {
        inProcess = err;
      }
      expect(inProcess).toBeInstanceOf(ConfigError);
      let isolated: unknown;
      try {
        isolatedLoadConfig([dir], {});
      } catch (err) {
        isolated = err;
      }
      expect(isolated).toBeInstanceOf(ConfigError);
      expect((isolated as ConfigError).message).toBe((inProcess as ConfigError).message);
      expect((isolated as ConfigError).code).toBe('invalid_config');
      expect((isolated as ConfigError).issues).toEqual((inProcess as ConfigError).issues);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('names the failure when the loader process crashes or answers garbage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-isolated-'));
    try {
      const crash = join(dir, 'crash.mjs');
      writeFileSync(crash, "process.stderr.write('boom: out of memory'); process.exit(3);\n");
      const garbage = join(dir, 'garbage.mjs');
      writeFileSync(garbage, "process.stdout.write('not a serialized value');\n");
      expect(() => loadInChild(crash, ['x'], {})).toThrow(ConfigLoaderProcessError);
      expect(() => loadInChild(crash, ['x'], {})).toThrow(/exited with 3: boom: out of memory/);
      expect(() => loadInChild(garbage, ['x'], {})).toThrow(/answer could not be read/);
      expect(() => loadInChild(join(dir, 'missing.mjs'), ['x'], {})).toThrow(/exited with 1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('isolatedLoadConfigAsync (reloads)', () => {
  it('gives what the synchronous form gives, and the same ConfigError', async () => {
    await ensureBuilt();
    const sources = [join(ROOT, 'examples/002-bookinfo-rules')];
    expect(await isolatedLoadConfigAsync(sources, {})).toStrictEqual(loadConfig(sources, {}));
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-isolated-'));
    try {
      writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: 5}\n');
      const err = await isolatedLoadConfigAsync([dir], {}).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual((() => { try { loadConfig([dir]); } catch (e) { return (e as ConfigError).issues; } return null; })());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('keeps the event loop turning while the child loads', async () => {
    await ensureBuilt();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      await isolatedLoadConfigAsync([join(ROOT, 'examples/003-istio101')], { allowUnenforcedSecurity: true });
    } finally {
      clearInterval(timer);
    }
    // The child takes ~0.25 s to start and load: a blocking load would leave no tick at all.
    expect(ticks).toBeGreaterThan(3);
  }, 60_000);

  it('names the failure when the child crashes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-isolated-'));
    try {
      const crash = join(dir, 'crash.mjs');
      writeFileSync(crash, "process.stderr.write('boom'); process.exit(3);\n");
      const err = await loadInChildAsync(crash, ['x'], {}).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigLoaderProcessError);
      expect((err as Error).message).toMatch(/exited with 3: boom/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Bare module specifiers reachable by static imports from a TypeScript source file. */
function staticImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/^\s*(?:import|export)(?!\s+type\b)[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  };
  walk(entry);
  return bare;
}

describe('the proxy process', () => {
  it('proxy and sidecar commands import neither yaml nor zod (the loader child does)', () => {
    for (const entry of ['host/cli/main.ts', 'host/cli/proxy-command.ts', 'host/cli/sidecar-command.ts', 'host/server/proxy-worker.ts']) {
      const bare = staticImports(join(ROOT, entry));
      expect([...bare].filter((b) => b === 'yaml' || b === 'zod'), entry).toEqual([]);
    }
    // The walker does see them where they are.
    const child = staticImports(join(ROOT, 'host/config/load-child.ts'));
    expect(child.has('yaml') && child.has('zod')).toBe(true);
  });
});
