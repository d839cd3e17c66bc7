// ConfigManager: versioned apply, unchanged detection, invalid changes keep the last good
// version, and the file watch (including editors that save by rename) triggers reloads.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigManager, type ConfigLoader } from '../../host/control/config-manager.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { loadConfig } from '../../host/config/index.js';

/** A loader over plain files: each file holds a cluster name; `bad` in a file is invalid. */
const fileLoader: ConfigLoader = (sources) => {
  const files: string[] = [];
  for (const s of sources) {
    try {
      for (const n of readdirSync(s).sort()) if (n.endsWith('.yaml')) files.push(join(s, n));
    } catch {
      files.push(s);
    }
  }
  const names = files.map((f) => readFileSync(f, 'utf8').split('\n')[0].trim());
  if (names.some((n) => n === 'bad')) {
    throw Object.assign(new Error(`invalid config: 1 error\n  ${files[names.indexOf('bad')]}:1 bad value`), { code: 'invalid_config' });
  }
  const mesh: MeshConfig = { virtualHosts: [], clusters: names.map((n) => ({ name: n, host: n, port: 80, subset: null, endpoints: [], lb: 'ROUND_ROBIN' })) };
  return { resources: names, mesh, warnings: [], files };
};

class FakeProxy {
  applied: Array<{ version: number; mesh: MeshConfig }> = [];
  refuse = false;
  apply(mesh: MeshConfig, version: number): void {
    if (this.refuse) throw new Error('bad mesh');
    this.applied.push({ version, mesh });
  }
}

const dirs: string[] = [];
const managers: ConfigManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'wasmesh-cm-'));
  dirs.push(d);
  return d;
}

function manager(sources: string[], proxy = new FakeProxy(), load = fileLoader) {
  const logs: string[] = [];
  const m = new ConfigManager({ sources, target: proxy, load, log: (l, msg) => logs.push(`${l}: ${msg}`), debounceMs: 30 });
  managers.push(m);
  return { m, proxy, logs };
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ConfigManager', () => {
  it('applies the first load as version 1 and throws when it is invalid', () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.yaml'), 'a\n');
    const { m, proxy } = manager([d]);
    expect(m.ready).toBe(false);
    m.start();
    expect(m.ready).toBe(true);
    expect(m.version).toBe(1);
    expect(proxy.applied.map((a) => a.version)).toEqual([1]);
    expect(m.dump()).toMatchObject({ version: 1, resources: ['a'], lastError: null, files: [join(d, 'a.yaml')] });
    expect(m.dump().loadedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    writeFileSync(join(d, 'a.yaml'), 'bad\n');
    const bad = manager([d]).m;
    expect(() => bad.start()).toThrow(/invalid config/);
    expect(bad.ready).toBe(false);
  });

  it('bumps the version only for a different config, and keeps the last good one on errors', () => {
    const d = tempDir();
    const f = join(d, 'a.yaml');
    writeFileSync(f, 'a\n');
    const { m, proxy, logs } = manager([d]);
    m.start();
    writeFileSync(f, 'a\n# comment only\n');
    expect(m.reload()).toBe('unchanged');
    expect(m.version).toBe(1);

    writeFileSync(f, 'bad\n');
    expect(m.reload('test edit')).toBe('rejected');
    expect(m.version).toBe(1);
    expect(m.lastError).toMatchObject({ code: 'invalid_config' });
    expect(m.lastError!.message).toContain('bad value');
    expect(m.dump().resources).toEqual(['a']);
    expect(logs.some((l) => l.startsWith('error: config change rejected (test edit); still serving version 1'))).toBe(true);

    writeFileSync(f, 'b\n');
    expect(m.reload()).toBe('applied');
    expect(m.version).toBe(2);
    expect(m.lastError).toBeNull();
    expect(proxy.applied.map((a) => a.mesh.clusters[0].name)).toEqual(['a', 'b']);
    expect(m.counters).toEqual({ reloads_total: 3, reload_errors_total: 1, reloads_unchanged_total: 1 });
  });

  it('ignores source locations: a change that only shifts lines is unchanged', () => {
    let line = 1;
    const load: ConfigLoader = () => ({
      resources: [{ kind: 'VirtualService', name: 'web', file: '/x.yaml', doc: 1, line, spec: { hosts: ['*'] } }],
      mesh: { virtualHosts: [], clusters: [] },
      warnings: [],
      files: [],
    });
    const { m } = manager(['/x.yaml'], new FakeProxy(), load);
    m.start();
    line = 4;
    expect(m.reload()).toBe('unchanged');
    expect((m.dump().resources as Array<{ line: number }>)[0].line).toBe(4);
  });

  it('treats a mesh the data path refuses as a rejected change, without using up a version', () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.yaml'), 'a\n');
    const { m, proxy } = manager([d]);
    m.start();
    writeFileSync(join(d, 'a.yaml'), 'b\n');
    proxy.refuse = true;
    expect(m.reload()).toBe('rejected');
    expect(m.lastError).toMatchObject({ code: 'apply_failed', message: 'bad mesh' });
    proxy.refuse = false;
    expect(m.reload()).toBe('applied');
    expect(m.version).toBe(2);
  });

  it('reloads on file edits, rename-saves, new files and a fix after an invalid edit', async () => {
    const d = tempDir();
    const f = join(d, 'a.yaml');
    writeFileSync(f, 'a\n');
    const { m, proxy } = manager([d]);
    m.start();
    m.watch();
    expect(m.watchedDirs).toEqual([d]);

    writeFileSync(f, 'b\n');
    await until(() => m.version === 2, 'edit applied');

    // An editor saving by writing a temp file and renaming it over the original.
    writeFileSync(join(d, '.a.yaml.swp'), 'c\n');
    renameSync(join(d, '.a.yaml.swp'), f);
    await until(() => m.version === 3, 'rename-save applied');

    writeFileSync(join(d, 'b.yaml'), 'z\n');
    await until(() => m.version === 4, 'new file applied');
    expect(proxy.applied.at(-1)!.mesh.clusters.map((c) => c.name)).toEqual(['c', 'z']);

    writeFileSync(f, 'bad\n');
    await until(() => m.lastError !== null, 'invalid edit rejected');
    expect(m.version).toBe(4);
    writeFileSync(f, 'd\n');
    await until(() => m.version === 5, 'fix applied');
    expect(m.lastError).toBeNull();
  });

  it('debounces a burst of writes into one reload', async () => {
    const d = tempDir();
    const f = join(d, 'a.yaml');
    writeFileSync(f, 'a\n');
    const { m } = manager([d]);
    m.start();
    m.watch();
    for (let i = 0; i < 5; i++) writeFileSync(f, `x${i}\n`);
    await until(() => m.version > 1, 'burst applied');
    await new Promise((r) => setTimeout(r, 150));
    expect(m.version).toBe(2);
    expect(m.counters.reloads_total).toBe(1);
  });

  it('watches only the named file in the folder of a single-file source', async () => {
    const d = tempDir();
    const f = join(d, 'one.yaml');
    writeFileSync(f, 'a\n');
    const { m } = manager([f]);
    m.start();
    m.watch();
    writeFileSync(join(d, 'other.txt'), 'noise');
    await new Promise((r) => setTimeout(r, 120));
    expect(m.counters.reloads_total).toBe(0);
    writeFileSync(f, 'b\n');
    await until(() => m.version === 2, 'single file applied');
  });

  it('survives the watched folder being removed and made again', async () => {
    const parent = tempDir();
    const d = join(parent, 'conf');
    mkdirSync(d);
    writeFileSync(join(d, 'a.yaml'), 'a\n');
    const { m } = manager([d]);
    m.start();
    m.watch();
    rmSync(d, { recursive: true });
    await until(() => m.lastError !== null, 'missing folder reported');
    expect(m.version).toBe(1);
    mkdirSync(d);
    writeFileSync(join(d, 'a.yaml'), 'n\n');
    await until(() => m.version === 2, 'recreated folder applied', 5000);
  });
});

describe('ConfigManager.reloadAsync (loadAsync: reloads off the event loop)', () => {
  /** An async loader over fileLoader whose loads finish only when the test releases them. */
  function gatedLoader() {
    const gates: Array<() => void> = [];
    let calls = 0;
    const loadAsync = (sources: string[], options: Parameters<ConfigLoader>[1]) => {
      calls++;
      return new Promise<ReturnType<ConfigLoader>>((resolve, reject) => {
        gates.push(() => {
          try {
            resolve(fileLoader(sources, options));
          } catch (err) {
            reject(err);
          }
        });
      });
    };
    return { loadAsync, gates, calls: () => calls };
  }

  it('applies when the load arrives, coalesces reloads asked for meanwhile, and reports each outcome', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), 'one\n');
    const proxy = new FakeProxy();
    const g = gatedLoader();
    const outcomes: string[] = [];
    const m = new ConfigManager({ sources: [dir], target: proxy, load: fileLoader, loadAsync: g.loadAsync, onReload: (o, v) => outcomes.push(`${o}@${v}`) });
    managers.push(m);
    m.start();
    writeFileSync(join(dir, 'a.yaml'), 'two\n');
    const first = m.reloadAsync('first');
    expect(m.version).toBe(1); // nothing applied while the load runs
    writeFileSync(join(dir, 'a.yaml'), 'three\n');
    const second = m.reloadAsync('second');
    const third = m.reloadAsync('third');
    expect(third).toBe(second); // joined the queued one
    expect(g.calls()).toBe(1);
    g.gates.shift()!(); // the first load reads 'three' now: it started before, but reads at release
    expect(await first).toBe('applied');
    await until(() => g.gates.length === 1, 'the queued reload to start');
    g.gates.shift()!();
    expect(await second).toBe('unchanged');
    expect(g.calls()).toBe(2);
    expect(proxy.applied.map((a) => a.mesh.clusters[0]!.name)).toEqual(['one', 'three']);
    expect(outcomes).toEqual(['applied@2', 'unchanged@2']);
    expect(m.counters).toEqual({ reloads_total: 2, reload_errors_total: 0, reloads_unchanged_total: 1 });
  });

  it('a failed async load is rejected and recorded; the old version serves on', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), 'one\n');
    const proxy = new FakeProxy();
    const g = gatedLoader();
    const m = new ConfigManager({ sources: [dir], target: proxy, load: fileLoader, loadAsync: g.loadAsync });
    managers.push(m);
    m.start();
    writeFileSync(join(dir, 'a.yaml'), 'bad\n');
    const r = m.reloadAsync('edit');
    g.gates.shift()!();
    expect(await r).toBe('rejected');
    expect(m.version).toBe(1);
    expect(m.lastError?.code).toBe('invalid_config');
    expect(proxy.applied).toHaveLength(1);
  });

  it('file changes reload through loadAsync; a load that arrives after close() is dropped', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), 'one\n');
    const proxy = new FakeProxy();
    const g = gatedLoader();
    let reported: (outcome: string) => void = () => {};
    const outcome = new Promise<string>((resolve) => (reported = resolve));
    const m = new ConfigManager({ sources: [dir], target: proxy, load: fileLoader, loadAsync: g.loadAsync, debounceMs: 30, onReload: (o) => reported(o) });
    managers.push(m);
    m.start();
    m.watch();
    writeFileSync(join(dir, 'a.yaml'), 'two\n');
    await until(() => g.gates.length === 1, 'the watcher to start an async reload');
    m.close();
    g.gates.shift()!();
    // The dropped reload still reports (as unchanged): wait for that, not for time.
    expect(await outcome).toBe('unchanged');
    expect(m.version).toBe(1);
    expect(proxy.applied).toHaveLength(1);
  });

  it('without loadAsync it is reload() (the outcome at once, as a promise)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), 'one\n');
    const { m } = manager([dir]);
    m.start();
    writeFileSync(join(dir, 'a.yaml'), 'two\n');
    expect(await m.reloadAsync('x')).toBe('applied');
    expect(m.version).toBe(2);
  });
});

describe('ConfigManager with the real loader: security settings it cannot enforce', () => {
  const DEMO = 'examples/000-web-demo';
  // STRICT mTLS on a proxy without a workload identity: refused (AuthorizationPolicy, once the
  // example here, is enforced now).
  const AUTHZ = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: x}
spec: {mtls: {mode: STRICT}}
`;
  /** The demo's services, gateway and 80/20 split in a fresh folder the test can add to. */
  function demoFolder(): string {
    const d = tempDir();
    for (const f of ['00-web-services.yaml', '02-web-demo-service-gateway.yaml', '03-web-demo-80-20.yaml']) writeFileSync(join(d, f), readFileSync(join(DEMO, f), 'utf8'));
    return d;
  }
  const realLoad: ConfigLoader = (sources, options) => loadConfig(sources, options);

  it('a STRICT PeerAuthentication added on reload is refused with its located reason; the last good version serves on', () => {
    const d = demoFolder();
    const proxy = new FakeProxy();
    const logs: string[] = [];
    const m = new ConfigManager({ sources: [d], gateway: 'web-gateway', target: proxy, load: realLoad, log: (l, msg) => logs.push(`${l}: ${msg}`) });
    managers.push(m);
    m.start();
    writeFileSync(join(d, '05-authz.yaml'), AUTHZ);
    expect(m.reload('test')).toBe('rejected');
    expect(m.version).toBe(1);
    expect(proxy.applied.map((a) => a.version)).toEqual([1]);
    expect(m.dump().mesh).toEqual(proxy.applied[0]!.mesh);
    expect(m.lastError).toMatchObject({ code: 'invalid_config' });
    expect(m.lastError!.message).toContain(`${join(d, '05-authz.yaml')}:4 (document 1) PeerAuthentication default/x: spec.mtls.mode: PeerAuthentication default/x cannot be enforced by this version`);
    expect(logs.some((l) => l.startsWith('error: ') && l.includes('refusing to serve open'))).toBe(true);
  });

  it('with allowUnenforcedSecurity every load gets the option and warns NOT ENFORCED once per load', () => {
    const d = demoFolder();
    writeFileSync(join(d, '05-authz.yaml'), AUTHZ);
    const seen: unknown[] = [];
    const logs: string[] = [];
    const m = new ConfigManager({
      sources: [d], gateway: 'web-gateway', allowUnenforcedSecurity: true, target: new FakeProxy(),
      load: (sources, options) => { seen.push(options); return loadConfig(sources, options); },
      log: (l, msg) => logs.push(`${l}: ${msg}`),
    });
    managers.push(m);
    m.start();
    const notEnforced = () => logs.filter((l) => l.startsWith('warn: ') && l.includes('NOT ENFORCED')).length;
    expect(notEnforced()).toBe(1);
    expect(m.reload('unchanged')).toBe('unchanged');
    expect(notEnforced()).toBe(1);
    writeFileSync(join(d, '03-web-demo-80-20.yaml'), readFileSync(join(DEMO, '04-web-demo-5-95.yaml'), 'utf8'));
    expect(m.reload('changed')).toBe('applied');
    expect(notEnforced()).toBe(2);
    expect(seen).toEqual([0, 1, 2].map(() => ({ gateway: 'web-gateway', namespace: undefined, labels: undefined, allowUnenforcedSecurity: true })));
  });
});

describe('labels reach the loader', () => {
  it('ConfigManager passes gateway, namespace and labels to every load', async () => {
    const seen: unknown[] = [];
    const m = new ConfigManager({
      sources: ['examples/000-web-demo/00-web-services.yaml'],
      namespace: 'default',
      labels: { app: 'reviews', version: 'v2' },
      target: { apply: () => {} },
      load: (sources, options) => {
        seen.push(options);
        return loadConfig(sources, options);
      },
    });
    m.start();
    m.close();
    expect(seen).toEqual([{ gateway: undefined, namespace: 'default', labels: { app: 'reviews', version: 'v2' } }]);
  });
});
