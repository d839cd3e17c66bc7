// `wasmesh demo` as a real process on free ports: it starts the control plane and a gateway it
// programs over xDS, answers curl-like requests with the 80/20 split, `wasmesh proxy-status` lists
// the gateway SYNCED, the printed `cp` of the 5/95 file reaches the gateway, an invalid edit is
// reported while 5/95 keeps serving, and Ctrl-C (SIGINT) stops everything and frees the ports.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { connect } from 'node:net';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';
import { controlPlaneIn, metric, proxyStatus } from '../helpers/demo-proxy-status.js';

const FREE = ['--port', '0', '--admin', '127.0.0.1:0', '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0'];

async function versions(gw: string, n = 100): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const body = await (await fetch(gw)).text();
    counts[body] = (counts[body] ?? 0) + 1;
  }
  return counts;
}

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

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
  it('runs the seed 000 mesh over xDS, prints what to curl, switches the split live, and stops cleanly on SIGINT', async () => {
    const demo = new WasmeshProcess(['demo', ...FREE, '--app-ports', '0,0', '--no-access-log']);
    let exit;
    try {
      await demo.waitFor(/Press Ctrl-C to stop/, 'stdout');
      const out = demo.stdout;
      const gw = out.match(/curl -s (http:\/\/127\.0\.0\.1:\d+\/)/)![1];
      const appPorts = [...out.matchAll(/demo app web-v\d +http:\/\/127\.0\.0\.1:(\d+)\//g)].map((m) => Number(m[1]));
      const adminUrl = out.match(/admin +(http:\/\/127\.0\.0\.1:\d+)\//)![1];
      const runDir = out.match(/config folder +(\S+)/)![1];
      const cp = controlPlaneIn(out);
      const copy = out.match(/ {2}(cp \S+04-web-demo-5-95\.yaml \S+03-split\.yaml)/)![1];
      expect(existsSync(runDir)).toBe(true);

      expect(await versions(gw)).toEqual({ 'Version: v0.1': 80, 'Version: v0.2': 20 });
      expect((await fetch(`${adminUrl}/ready`)).status).toBe(200);
      // The gateway's config came from the control plane, not from files.
      const dump = (await (await fetch(`${adminUrl}/config_dump?format=wasmesh`)).json()) as { resources: { source: string; controlPlane: string } };
      expect(dump.resources).toMatchObject({ source: 'xds', controlPlane: `127.0.0.1:${cp.xdsPort}` });
      expect(await proxyStatus(out)).toEqual([
        { name: 'router~127.0.0.1~istio-ingressgateway.default~default.svc.cluster.local', cluster: 'Kubernetes', states: { CDS: 'NOT SENT', LDS: 'NOT SENT', EDS: 'NOT SENT', RDS: 'NOT SENT', ECDS: 'NOT SENT', WASMESH: 'SYNCED' }, version: '1' },
      ]);
      expect(await metric(cp.monitoring, 'pilot_xds')).toBe(1);

      // The printed `cp`, run as printed: the control plane pushes 5/95 to the gateway.
      execSync(copy);
      await until(async () => (await proxyStatus(out))[0]?.version === '2' && (await proxyStatus(out))[0]?.states.WASMESH === 'SYNCED', 'version 2 SYNCED');
      expect(await versions(gw)).toEqual({ 'Version: v0.1': 5, 'Version: v0.2': 95 });

      // An invalid edit: reported, and 5/95 keeps serving.
      writeFileSync(`${runDir}/03-split.yaml`, 'apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {name: web}\nspec:\n  http: [\n');
      await until(() => /config change rejected; version 2 keeps being served/.test(demo.stderr), 'the rejection');
      expect(demo.stderr).toMatch(/03-split\.yaml/);
      expect(await metric(cp.monitoring, 'wasmesh_control_plane_config_error')).toBe(1);
      expect(await versions(gw)).toEqual({ 'Version: v0.1': 5, 'Version: v0.2': 95 });
      expect((await proxyStatus(out))[0]).toMatchObject({ states: { WASMESH: 'SYNCED' }, version: '2' });

      exit = await demo.stop('SIGINT');
      expect(exit).toEqual({ code: 0, signal: null });
      const port = Number(new URL(gw).port);
      for (const p of [port, Number(new URL(adminUrl).port), ...appPorts, Number(new URL(cp.monitoring).port), cp.xdsPort]) expect(await refused(p)).toBe(true);
      expect(existsSync(runDir)).toBe(false);
    } finally {
      if (demo.running) await demo.stop('SIGKILL');
    }
  });

  it('names the port when a demo app or the gateway port is taken', async () => {
    const blocker = new WasmeshProcess(['demo', ...FREE, '--app-ports', '0,0']);
    try {
      await blocker.waitFor(/Press Ctrl-C to stop/, 'stdout');
      const appPort = Number(blocker.stdout.match(/demo app web-v1 +http:\/\/127\.0\.0\.1:(\d+)\//)![1]);
      const second = new WasmeshProcess(['demo', ...FREE, '--app-ports', `${appPort},0`]);
      const exit = await second.exited;
      expect(exit.code).toBe(1);
      expect(second.stderr).toContain(`wasmesh demo: demo app web-v1 port ${appPort} on 127.0.0.1 is already in use`);

      const gwPort = Number(blocker.stdout.match(/curl -s http:\/\/127\.0\.0\.1:(\d+)\//)![1]);
      const third = new WasmeshProcess(['demo', '--port', String(gwPort), '--admin', '127.0.0.1:0', '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0', '--app-ports', '0,0']);
      expect((await third.exited).code).toBe(1);
      expect(third.stderr).toContain(`wasmesh demo: gateway port ${gwPort} on 127.0.0.1 is already in use`);
    } finally {
      await blocker.stop('SIGINT');
    }
    // Three demos start in series (each a control plane, a gateway and apps): 14 s, 11 s and ~10 s
    // at load 33, over the default 30 s; a quiet machine takes a few seconds.
  }, 90_000);
});
