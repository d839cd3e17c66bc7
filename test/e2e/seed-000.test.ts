// The seed 000 scenario end to end over real sockets: two real demo app servers, the real
// `wasmesh proxy` process as the ingress gateway with the example files unchanged (only the
// WorkloadEntry ports point at this run's apps), the 80/20 split, a live switch to 5/95 under
// load with no failed request, and an invalid edit that keeps the last good config serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebApp } from '../../host/demo/web-app.js';
import { withAppPorts } from '../../host/demo/demo-config.js';
import { ensureBuilt, ROOT, startProxy, type WasmeshProcess } from '../helpers/wasmesh-process.js';

const EXAMPLE = join(ROOT, 'examples', '000-web-demo');
const SPLIT = '03-split.yaml';

let apps: WebApp[] = [];
let dir = '';
let proc: WasmeshProcess;
let gateway = '';
let admin = '';

interface Tally {
  v1: number;
  v2: number;
  failures: string[];
}

async function one(): Promise<'v1' | 'v2' | string> {
  try {
    const res = await fetch(gateway);
    const body = await res.text();
    if (res.status === 200 && body === 'Version: v0.1') return 'v1';
    if (res.status === 200 && body === 'Version: v0.2') return 'v2';
    return `${res.status} ${body}`;
  } catch (err) {
    return `fetch failed: ${(err as Error).message}`;
  }
}

/** Sends `n` requests, `concurrency` at a time, and returns the results in completion order. */
async function load(n: number, concurrency = 8): Promise<string[]> {
  const out: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        out.push(await one());
      }
    }),
  );
  return out;
}

function tally(results: string[]): Tally {
  const t: Tally = { v1: 0, v2: 0, failures: [] };
  for (const r of results) {
    if (r === 'v1') t.v1++;
    else if (r === 'v2') t.v2++;
    else t.failures.push(r);
  }
  return t;
}

async function dump(): Promise<{ version: number; lastError: { code: string; message: string } | null }> {
  return (await fetch(`${admin}/config_dump?format=wasmesh`)).json() as Promise<{ version: number; lastError: { code: string; message: string } | null }>;
}

/** A load loop that runs until stopped, recording each result with the config version seen before it was sent. */
function background(concurrency = 4) {
  const results: string[] = [];
  let stop = false;
  const done = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stop) results.push(await one());
    }),
  );
  return {
    results,
    async stop() {
      stop = true;
      await done;
    },
  };
}

async function until(cond: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  await ensureBuilt();
  apps = [new WebApp({ name: 'web-v1', version: 'v0.1', port: 0 }), new WebApp({ name: 'web-v2', version: 'v0.2', port: 0 })];
  for (const a of apps) await a.listen();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-seed000-'));
  const services = readFileSync(join(EXAMPLE, '00-web-services.yaml'), 'utf8');
  writeFileSync(join(dir, '00-web-services.yaml'), withAppPorts(services, { v1: apps[0].port, v2: apps[1].port }));
  copyFileSync(join(EXAMPLE, '02-web-demo-service-gateway.yaml'), join(dir, '02-web-demo-service-gateway.yaml'));
  copyFileSync(join(EXAMPLE, '03-web-demo-80-20.yaml'), join(dir, SPLIT));
  const started = await startProxy(['-f', dir, '--listen', '127.0.0.1:0', '--gateway', 'web-gateway', '--admin', '127.0.0.1:0']);
  proc = started.proc;
  gateway = `http://127.0.0.1:${started.port}/`;
  admin = `http://127.0.0.1:${started.adminPort}`;
}, 300_000);

afterAll(async () => {
  const exit = await proc?.stop('SIGTERM');
  await Promise.all(apps.map((a) => a.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
  // Graceful stop on SIGTERM is part of the contract.
  expect(exit).toEqual({ code: 0, signal: null });
});

describe('seed 000 through the gateway', () => {
  it('is ready and splits 1,000 requests 80/20 within ±3 points', async () => {
    const ready = await fetch(`${admin}/ready`);
    expect(ready.status).toBe(200);
    const t = tally(await load(1000));
    expect(t.failures).toEqual([]);
    expect(t.v1 + t.v2).toBe(1000);
    expect(Math.abs(t.v1 / 10 - 80)).toBeLessThanOrEqual(3);
    expect((await dump()).version).toBe(1);
  });

  it('follows a live switch to 5/95 under load, without a failed request', async () => {
    const bg = background();
    await until(async () => bg.results.length >= 200, 'load before the switch');
    // What the demo tells users to do: cp the 5/95 file over the split file.
    copyFileSync(join(EXAMPLE, '04-web-demo-5-95.yaml'), join(dir, SPLIT));
    await until(async () => (await dump()).version === 2, 'version 2');
    const atSwitch = bg.results.length;
    await until(async () => bg.results.length >= atSwitch + 300, 'load after the switch');
    await bg.stop();
    const t = tally(bg.results);
    expect(t.failures).toEqual([]);
    const last = tally(bg.results.slice(-200));
    expect(last.v2).toBeGreaterThanOrEqual(185);
    expect(last.v1).toBeGreaterThanOrEqual(5);
  });

  it('keeps serving the last good config on an invalid edit, shows the error, then applies the fix', async () => {
    const bg = background();
    await until(async () => bg.results.length >= 100, 'load before the bad edit');
    const good = readFileSync(join(EXAMPLE, '04-web-demo-5-95.yaml'), 'utf8');
    writeFileSync(join(dir, SPLIT), good.replace('weight: 95', 'weight: ninety-five'));
    await until(async () => (await dump()).lastError !== null, 'lastError');
    const d = await dump();
    expect(d.version).toBe(2);
    expect(d.lastError!.code).toBe('invalid_config');
    expect(d.lastError!.message).toContain(SPLIT);
    const atError = bg.results.length;
    await until(async () => bg.results.length >= atError + 200, 'load after the bad edit');
    const during = tally(bg.results.slice(atError));
    expect(during.failures).toEqual([]);
    expect(during.v2 / (during.v1 + during.v2)).toBeGreaterThan(0.9);
    expect(proc.stderr).toMatch(/config change rejected .*still serving version 2/);

    copyFileSync(join(EXAMPLE, '03-web-demo-80-20.yaml'), join(dir, SPLIT));
    await until(async () => (await dump()).version === 3, 'version 3 after the fix');
    expect((await dump()).lastError).toBeNull();
    const atFix = bg.results.length;
    await until(async () => bg.results.length >= atFix + 300, 'load after the fix');
    await bg.stop();
    expect(tally(bg.results).failures).toEqual([]);
    const last = tally(bg.results.slice(-200));
    expect(Math.abs(last.v1 / 2 - 80)).toBeLessThanOrEqual(5);

    const stats = await (await fetch(`${admin}/stats`)).text();
    expect(stats).toMatch(/^control\.reload_errors_total: [1-9]/m);
    expect(stats).toMatch(/^control\.config_version: 3$/m);
  });
});
