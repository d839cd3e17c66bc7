// `wasmesh dashboard`: help, usage errors (exit 2), a busy port (exit 1), and a run that serves
// the page, prints where to open it, and stops on a signal.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../host/cli/main.js';
import { dashboardCommand } from '../../host/cli/dashboard-command.js';
import { fakeIo } from '../helpers/fake-io.js';
import { freePort } from '../helpers/ports.js';

let busy: Server;
let busyPort: number;

beforeAll(async () => {
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  busyPort = (busy.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => busy.close(r));
});

describe('wasmesh dashboard', () => {
  it('--help names its flags', async () => {
    const io = fakeIo();
    expect(await main(['dashboard', '--help'], io)).toBe(0);
    for (const flag of ['--prometheus', '--control-plane', '--listen', '--window']) expect(io.stdout).toContain(flag);
  });

  it('bad flags are usage errors', async () => {
    for (const [argv, why] of [
      [['--window', '1x'], '--window: not a Prometheus duration'],
      [['--prometheus', 'ftp://x'], 'must be an http(s) URL'],
      [['--control-plane', '127.0.0.1:15014'], '--control-plane: expected http://host:port'],
      [['--listen', 'nope'], '--listen'],
    ] as const) {
      const io = fakeIo();
      expect(await main(['dashboard', ...argv], io), argv.join(' ')).toBe(2);
      expect(io.stderr).toContain(why);
    }
  });

  it('a busy port fails with exit 1 and names the role', async () => {
    const io = fakeIo({ stopWith: 'SIGTERM' });
    expect(await dashboardCommand(['--listen', `127.0.0.1:${busyPort}`], io)).toBe(1);
    expect(io.stderr).toMatch(/dashboard/);
  });

  it('serves the page and prints where to open it until stopped', async () => {
    const port = await freePort();
    let stop!: (s: string) => void;
    const io = { ...fakeIo(), stopRequested: () => new Promise<string>((r) => (stop = r)) };
    let stderr = '';
    io.err = (t: string) => void (stderr += t);
    const running = dashboardCommand(['--listen', `127.0.0.1:${port}`, '--prometheus', 'http://127.0.0.1:9'], io);
    for (let i = 0; i < 100 && !stderr.includes('open'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(stderr).toContain(`dashboard: open http://127.0.0.1:${port}/ (Prometheus http://127.0.0.1:9/)`);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>wasmesh dashboard</title>');
    stop('SIGINT');
    expect(await running).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
