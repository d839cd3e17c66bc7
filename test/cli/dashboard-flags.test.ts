// `wasmesh control-plane --dashboard`: the flags' checks, and a control plane that serves the
// dashboard reading its own monitoring port (sync status and config without --control-plane).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../host/cli/args.js';
import { dashboardFromFlags } from '../../host/cli/dashboard-flags.js';
import { controlPlaneCommand } from '../../host/cli/control-plane-command.js';
import { fakeIo } from '../helpers/fake-io.js';
import { freePort } from '../helpers/ports.js';
import { webServices } from '../helpers/seed-000-yaml.js';

describe('dashboardFromFlags', () => {
  it('none without --dashboard; --prometheus alone or a bad URL is a usage error', () => {
    expect(dashboardFromFlags('c', {})).toBeNull();
    expect(() => dashboardFromFlags('c', { prometheus: 'http://x:9090' })).toThrow(new UsageError('c', '--prometheus goes with --dashboard'));
    expect(() => dashboardFromFlags('c', { dashboard: '127.0.0.1:1', prometheus: 'file:///x' })).toThrow(/http\(s\) URL/);
    expect(() => dashboardFromFlags('c', { dashboard: 'nope' })).toThrow(UsageError);
    const plan = dashboardFromFlags('c', { dashboard: '127.0.0.1:20001' })!;
    expect(plan.at).toEqual({ host: '127.0.0.1', port: 20001 });
    expect(plan.prometheus.url).toBe('http://127.0.0.1:9090/');
  });
});

describe('wasmesh control-plane --dashboard', () => {
  it('serves the dashboard with the control plane\'s own sync status and config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cp-dash-'));
    writeFileSync(join(dir, 'web.yaml'), webServices({ v1: 15101 }) + `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec: {host: web}
`);
    const [xds, mon, dash] = [await freePort(), await freePort(), await freePort()];
    let stop!: (s: string) => void;
    let stderr = '';
    const io = { ...fakeIo(), err: (t: string) => void (stderr += t), stopRequested: () => new Promise<string>((r) => (stop = r)) };
    const running = controlPlaneCommand(['-f', dir, '--xds-listen', `127.0.0.1:${xds}`, '--monitoring', `127.0.0.1:${mon}`, '--dashboard', `127.0.0.1:${dash}`, '--prometheus', 'http://127.0.0.1:9'], io);
    try {
      for (let i = 0; i < 200 && !stderr.includes('dashboard: open'); i++) await new Promise((r) => setTimeout(r, 25));
      expect(stderr).toContain(`dashboard: open http://127.0.0.1:${dash}/ (Prometheus http://127.0.0.1:9/)`);
      const info = await (await fetch(`http://127.0.0.1:${dash}/api/info`)).json();
      expect(info).toMatchObject({ controlPlane: `http://127.0.0.1:${mon}/`, prometheus: 'http://127.0.0.1:9/' });
      expect(await (await fetch(`http://127.0.0.1:${dash}/api/proxies`)).json()).toEqual({ controlPlane: `http://127.0.0.1:${mon}/`, proxies: [] });
      const config = await (await fetch(`http://127.0.0.1:${dash}/api/config?namespace=default&workload=web-v1&app=web`)).json() as { resources: Array<{ kind: string; name: string }> };
      expect(config.resources.map((r) => `${r.kind}/${r.name}`)).toEqual(['DestinationRule/web']);
    } finally {
      stop('SIGTERM');
      expect(await running).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(fetch(`http://127.0.0.1:${dash}/`)).rejects.toThrow();
  });
});
