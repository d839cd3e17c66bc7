// `wasmesh demo` as a real process on free ports: it starts, answers curl-like requests with
// the 80/20 split, and Ctrl-C (SIGINT) stops everything and frees the ports.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

beforeAll(async () => {
  await ensureBuilt();
}, 300_000);

describe('wasmesh demo (process)', () => {
  it('runs the seed 000 mesh, prints what to curl, and stops cleanly on SIGINT', async () => {
    const demo = new WasmeshProcess(['demo', '--port', '0', '--admin', '127.0.0.1:0', '--app-ports', '0,0', '--no-access-log']);
    let exit;
    try {
      await demo.waitFor(/Press Ctrl-C to stop/, 'stdout');
      const out = demo.stdout;
      const gw = out.match(/curl -s (http:\/\/127\.0\.0\.1:\d+\/)/)![1];
      const appPorts = [...out.matchAll(/demo app web-v\d +http:\/\/127\.0\.0\.1:(\d+)\//g)].map((m) => Number(m[1]));
      const adminUrl = out.match(/admin +(http:\/\/127\.0\.0\.1:\d+)\//)![1];
      const runDir = out.match(/config folder +(\S+)/)![1];
      expect(out).toMatch(/cp \S+04-web-demo-5-95\.yaml \S+03-split\.yaml/);
      expect(existsSync(runDir)).toBe(true);

      const counts: Record<string, number> = {};
      for (let i = 0; i < 100; i++) {
        const body = await (await fetch(gw)).text();
        counts[body] = (counts[body] ?? 0) + 1;
      }
      expect(counts).toEqual({ 'Version: v0.1': 80, 'Version: v0.2': 20 });
      expect((await fetch(`${adminUrl}/ready`)).status).toBe(200);

      exit = await demo.stop('SIGINT');
      expect(exit).toEqual({ code: 0, signal: null });
      const port = Number(new URL(gw).port);
      for (const p of [port, Number(new URL(adminUrl).port), ...appPorts]) expect(await refused(p)).toBe(true);
      expect(existsSync(runDir)).toBe(false);
    } finally {
      if (demo.running) await demo.stop('SIGKILL');
    }
  });

  it('names the port when a demo app or the gateway port is taken', async () => {
    const blocker = new WasmeshProcess(['demo', '--port', '0', '--admin', '127.0.0.1:0', '--app-ports', '0,0']);
    try {
      await blocker.waitFor(/Press Ctrl-C to stop/, 'stdout');
      const appPort = Number(blocker.stdout.match(/demo app web-v1 +http:\/\/127\.0\.0\.1:(\d+)\//)![1]);
      const second = new WasmeshProcess(['demo', '--port', '0', '--admin', '127.0.0.1:0', '--app-ports', `${appPort},0`]);
      const exit = await second.exited;
      expect(exit.code).toBe(1);
      expect(second.stderr).toContain(`wasmesh demo: demo app web-v1 port ${appPort} on 127.0.0.1 is already in use`);

      const gwPort = Number(blocker.stdout.match(/curl -s http:\/\/127\.0\.0\.1:(\d+)\//)![1]);
      const third = new WasmeshProcess(['demo', '--port', String(gwPort), '--admin', '127.0.0.1:0', '--app-ports', '0,0']);
      expect((await third.exited).code).toBe(1);
      expect(third.stderr).toContain(`wasmesh demo: gateway port ${gwPort} on 127.0.0.1 is already in use`);
    } finally {
      await blocker.stop('SIGINT');
    }
  });
});
