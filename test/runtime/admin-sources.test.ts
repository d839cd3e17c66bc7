// adminSources: the admin API's view of a runtime, with the control shell's stats added to the
// data path's, worker gauges only where there are worker counts, clusters as text and JSON, and
// a runtime's own sections added to the config dump.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigManager } from '../../host/control/config-manager.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { adminSources } from '../../host/runtime/admin-sources.js';
import { EnvoyConfigView } from '../../host/runtime/envoy-config-view.js';
import { LogLevels } from '../../host/common/log-levels.js';
import type { StatRecord } from '../../host/telemetry/stats.js';
import { clusterStatus } from '../helpers/cluster-status.js';

const EMPTY: MeshConfig = { virtualHosts: [], clusters: [] };
// The Envoy-compatible parts are tested in envoy-admin-runtime.test.ts; here they only have to exist.
const EXTRAS = { envoy: new EnvoyConfigView({ manager: { dump: () => ({}) } as never, mode: 'static', plan: () => ({ listens: [] }), admin: () => ({ host: '127.0.0.1', port: 1 }), node: () => ({}), clusters: () => [] }), serverInfo: () => ({}), logLevels: new LogLevels([]), quit: () => {} };
const managers: ConfigManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.close();
});

function manager(): ConfigManager {
  const m = new ConfigManager({ sources: ['x.yaml'], target: { apply: () => {} }, load: (s) => ({ resources: ['r'], mesh: EMPTY, warnings: [], files: s }) });
  managers.push(m);
  m.start();
  return m;
}

const record = (name: string, value: number): StatRecord => ({ name, value, kind: 'counter', used: true, tagName: name, tags: [] });
const cluster = clusterStatus('outbound|80||a', []);

describe('adminSources', () => {
  it('adds the control stats to the data path\'s, sorted, with worker gauges only when counted', () => {
    const m = manager();
    const plain = adminSources(m, () => true, { stats: () => [record('zz.last', 1)], clusters: () => [] }, EXTRAS);
    const names = plain.stats().map((r) => r.name);
    expect(names).toContain('zz.last');
    expect(names).toContain('control.config_version');
    expect(names).toEqual([...names].sort());
    expect(names).not.toContain('control.workers_live');

    const counted = adminSources(m, () => true, { stats: () => [], clusters: () => [], workers: () => ({ live: 3, crashes: 1 }) }, EXTRAS);
    const stats = Object.fromEntries(counted.stats().map((r) => [r.name, r.value]));
    expect(stats).toMatchObject({ 'control.workers_live': 3, 'control.worker_crashes': 1 });
  });

  it('shows the clusters as JSON and text, asks ready(), and extends the config dump', () => {
    const m = manager();
    let ready = false;
    const s = adminSources(m, () => ready, { stats: () => [], clusters: () => [cluster], configDumpExtra: () => ({ inbound: { appPorts: [5005] } }) }, EXTRAS);
    expect(s.clustersJson()).toEqual({ clusters: [cluster] });
    expect(s.clustersText()).toContain('outbound|80||a');
    expect(s.ready()).toBe(false);
    ready = true;
    expect(s.ready()).toBe(true);
    expect(s.configDump()).toMatchObject({ version: 1, resources: ['r'], inbound: { appPorts: [5005] } });
    expect(adminSources(m, () => true, { stats: () => [], clusters: () => [] }, EXTRAS).configDump()).not.toHaveProperty('inbound');
  });
});
