// The assembly shared by the proxy and the sidecar, with stand-in ports and an injected loader:
// the admin API first, then the probe ports, then the listeners in order; readiness follows
// them; a port that cannot be bound closes every port (explained where uWS says nothing); and
// close() fails readiness, drains the listeners together, flushes the access log, then closes
// the admin API and the probe ports.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigLoader } from '../../host/control/config-manager.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { ListenError } from '../../host/common/listen-error.js';
import { Stats } from '../../host/telemetry/stats.js';
import { RuntimeAssembly, type RuntimePort } from '../../host/runtime/runtime-assembly.js';
import { request } from '../helpers/http-client.js';
import { busyPort } from '../helpers/ports.js';

// The admin API answers only an IP address or localhost as Host (DNS rebinding).
const ADMIN_HOST = { host: '127.0.0.1' };

const EMPTY: MeshConfig = { virtualHosts: [], clusters: [] };
const load: ConfigLoader = (sources) => ({ resources: [], mesh: EMPTY, warnings: [], files: sources });
const LOOPBACK = { host: '127.0.0.1', port: 0 };

const dirs: string[] = [];
const assemblies: RuntimeAssembly[] = [];
afterEach(async () => {
  await Promise.all(assemblies.splice(0).map((a) => a.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A port that records what happens to it in `events` and can be told to fail or to wait. */
function port(role: string, events: string[], opts: { fail?: unknown; probeOnFailure?: boolean; at?: { host: string; port: number }; closing?: Promise<void> } = {}): RuntimePort {
  return {
    role,
    at: opts.at ?? { host: '127.0.0.1', port: 1 },
    probeOnFailure: opts.probeOnFailure,
    listen: async () => {
      events.push(`listen ${role}`);
      if (opts.fail !== undefined) throw opts.fail;
    },
    close: async () => {
      events.push(`close ${role}`);
      await opts.closing;
      events.push(`closed ${role}`);
    },
  };
}

function assembly(events: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-assembly-'));
  dirs.push(dir);
  const applied: number[] = [];
  const stats = new Stats();
  const a = new RuntimeAssembly({
    config: { sources: [dir], load, log: () => {} },
    admin: LOOPBACK,
    target: { apply: (_mesh, version) => void applied.push(version) },
    reloadStats: stats,
    accessLog: { flush: () => void events.push('flush') },
    view: { stats: () => [], clusters: () => [] },
  });
  assemblies.push(a);
  return { a, applied, stats, events };
}

describe('RuntimeAssembly', () => {
  it('applies the config and counts the load before anything is bound', () => {
    const { a, applied, stats } = assembly();
    expect(applied).toEqual([1]);
    expect(stats.server.get('config_reload')).toBe(1);
    expect(a.notReadyReason()).toBe('not started');
  });

  it('binds the admin API, then the probe ports, then the listeners in order, and is ready once all are up', async () => {
    const { a, events } = assembly();
    let reasonDuringInbound: string | null = null;
    const inbound = port('inbound listener', events);
    const listen = inbound.listen;
    inbound.listen = () => {
      reasonDuringInbound = a.notReadyReason();
      return listen();
    };
    await a.start({ probes: [port('health', events)], listeners: [port('outbound listener', events), inbound] });
    expect(events).toEqual(['listen health', 'listen outbound listener', 'listen inbound listener']);
    expect(reasonDuringInbound).toBe('inbound listener 127.0.0.1:1 not up');
    expect(a.notReadyReason()).toBeNull();
    expect((await request(a.admin.port, { path: '/ready', headers: ADMIN_HOST })).status).toBe(200);
  });

  it('a listener that cannot be bound closes every port and throws its error', async () => {
    const { a, events } = assembly();
    const boom = new Error('boom');
    const failing = port('inbound listener', events, { fail: boom });
    let adminPort = 0;
    const listen = failing.listen;
    failing.listen = () => {
      adminPort = a.admin.port;
      return listen();
    };
    await expect(a.start({
      probes: [port('health', events)],
      listeners: [port('outbound listener', events), failing, port('third', events)],
    })).rejects.toBe(boom);
    expect(events).toEqual([
      'listen health', 'listen outbound listener', 'listen inbound listener',
      // Every listener (closing one that never listened is safe), the access log, then the probes.
      'close outbound listener', 'close inbound listener', 'close third',
      'closed outbound listener', 'closed inbound listener', 'closed third',
      'flush', 'close health', 'closed health',
    ]);
    // The admin API listened, and went too.
    expect(adminPort).toBeGreaterThan(0);
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(adminPort, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('explains a failure uWS gives no reason for by binding the same address', async () => {
    const busy = await busyPort();
    const at = { host: '127.0.0.1', port: busy.port };
    try {
      const { a, events } = assembly();
      const err = await a.start({ listeners: [port('gateway', events, { at, fail: new Error('uWS: listen failed'), probeOnFailure: true })] }).catch((e) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect(err).toMatchObject({ code: 'port_in_use', role: 'gateway', message: `gateway port ${at.port} on 127.0.0.1 is already in use` });
    } finally {
      await busy.close();
    }
  });

  it('close() fails readiness first, drains the listeners together, flushes, then closes the admin API and probes', async () => {
    const { a, events } = assembly();
    let release!: () => void;
    const draining = new Promise<void>((resolve) => (release = resolve));
    await a.start({ probes: [port('health', events)], listeners: [port('one', events, { closing: draining }), port('two', events)] });
    events.length = 0;
    const closed = a.close();
    try {
      expect(a.notReadyReason()).toBe('draining (shutting down)');
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Both listeners drain at once; nothing after them starts before the slower one is done.
      expect(events).toEqual(['close one', 'close two', 'closed two']);
    } finally {
      release();
    }
    await closed;
    expect(events).toEqual(['close one', 'close two', 'closed two', 'closed one', 'flush', 'close health', 'closed health']);
    expect(a.close()).toBe(closed);
  });

  it('refuses a second start', async () => {
    const { a, events } = assembly();
    await a.start({ listeners: [port('one', events)] });
    await expect(a.start({ listeners: [] })).rejects.toThrow(/RUNTIME_STARTED/);
  });
});
