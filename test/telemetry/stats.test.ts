// Stats: each stat's kind, whether it was ever changed (Envoy's `used`), and its scope's tag.
import { describe, expect, it } from 'vitest';
import { computedRecords, StatScope, Stats, type StatRecord } from '../../host/telemetry/stats.js';

const byName = (records: StatRecord[]) => new Map(records.map((r) => [r.name, r]));

describe('Stats.records', () => {
  it('gives declared kinds, and a counter is used once incremented', () => {
    const stats = new Stats();
    let r = byName(stats.records());
    expect(r.get('downstream_rq_total')).toMatchObject({ value: 0, kind: 'counter', used: false });
    expect(r.get('downstream_rq_active')).toMatchObject({ value: 0, kind: 'gauge', used: false });
    expect(r.get('server.config_version')).toMatchObject({ kind: 'gauge', used: false });
    stats.downstream.inc('downstream_rq_total');
    r = byName(stats.records());
    expect(r.get('downstream_rq_total')).toMatchObject({ value: 1, used: true });
  });

  it('a gauge is used once it moved, also when it is back at zero; set marks it too', () => {
    const stats = new Stats();
    stats.downstream.inc('downstream_rq_active');
    expect(byName(stats.records()).get('downstream_rq_active')).toMatchObject({ value: 1, used: true });
    stats.downstream.dec('downstream_rq_active');
    expect(byName(stats.records()).get('downstream_rq_active')).toMatchObject({ value: 0, used: true });
    stats.server.set('config_version', 0);
    expect(byName(stats.records()).get('server.config_version')).toMatchObject({ value: 0, used: true });
  });

  it('declared dynamic stats show at zero, unused, with their kind; a negative dynamic step marks a gauge', () => {
    const scope = new StatScope<string>('x.', {});
    scope.declare('pending_active', 'gauge');
    scope.declare('pending_total', 'counter');
    const out: StatRecord[] = [];
    scope.records(out);
    expect(out.map((r) => [r.name, r.kind, r.used])).toEqual([['x.pending_active', 'gauge', false], ['x.pending_total', 'counter', false]]);
    scope.incDynamic('pending_active', 1);
    scope.incDynamic('pending_active', -1);
    scope.incDynamic('upstream_rq_503');
    const after: StatRecord[] = [];
    scope.records(after);
    expect(after.map((r) => [r.name, r.value, r.kind, r.used])).toEqual([
      ['x.pending_active', 0, 'gauge', true],
      ['x.pending_total', 0, 'counter', false],
      ['x.upstream_rq_503', 1, 'counter', true],
    ]);
  });

  it('source stats take their kinds from the source and stay used once seen nonzero; shared names are summed', () => {
    const scope = new StatScope<'upstream_rq_total'>('cluster.c.', { upstream_rq_total: 'counter' }, { base: 'cluster.', name: 'envoy.cluster_name', value: 'c' });
    let ejected = 1;
    scope.attach('core', () => ({ 'outlier_detection.ejections_active': ejected, upstream_rq_total: 2, upstream_rq_retry: 0 }), (n) => (n === 'outlier_detection.ejections_active' ? 'gauge' : 'counter'));
    scope.inc('upstream_rq_total');
    const read = () => {
      const out: StatRecord[] = [];
      scope.records(out);
      return byName(out);
    };
    let r = read();
    expect(r.get('cluster.c.upstream_rq_total')).toMatchObject({ value: 3, kind: 'counter', used: true });
    expect(r.get('cluster.c.outlier_detection.ejections_active')).toMatchObject({ value: 1, kind: 'gauge', used: true, tagName: 'cluster.outlier_detection.ejections_active', tags: [['envoy.cluster_name', 'c']] });
    expect(r.get('cluster.c.upstream_rq_retry')).toMatchObject({ value: 0, used: false });
    ejected = 0;
    r = read();
    expect(r.get('cluster.c.outlier_detection.ejections_active')).toMatchObject({ value: 0, used: true });
  });

  it('tags cluster and route scopes, so names with dots keep whole in the tag', () => {
    const stats = new Stats();
    stats.cluster('outbound|80||a.b.svc.cluster.local').inc('upstream_rq_total');
    stats.route('default/web/0').inc('rq_total');
    const r = byName(stats.records());
    expect(r.get('cluster.outbound|80||a.b.svc.cluster.local.upstream_rq_total')).toMatchObject({ tagName: 'cluster.upstream_rq_total', tags: [['envoy.cluster_name', 'outbound|80||a.b.svc.cluster.local']] });
    expect(r.get('route.default/web/0.rq_total')).toMatchObject({ tagName: 'route.rq_total', tags: [['wasmesh.route_name', 'default/web/0']] });
    expect(r.get('downstream_rq_total')).toMatchObject({ tagName: 'downstream_rq_total', tags: [] });
  });

  it('list() and render() are unchanged by the records', () => {
    const stats = new Stats();
    stats.downstream.inc('downstream_rq_total', 2);
    expect(stats.list().map(([n]) => n)).toEqual(stats.records().map((r) => r.name));
    expect(stats.render()).toMatch(/^downstream_rq_total: 2$/m);
  });
});

describe('computedRecords', () => {
  it('types them by the given kinds (counter by default) and counts nonzero as used', () => {
    expect(computedRecords({ 'control.reloads_total': 0, 'control.config_version': 3 }, { 'control.config_version': 'gauge' })).toEqual([
      { name: 'control.reloads_total', value: 0, kind: 'counter', used: false, tagName: 'control.reloads_total', tags: [] },
      { name: 'control.config_version', value: 3, kind: 'gauge', used: true, tagName: 'control.config_version', tags: [] },
    ]);
  });
});
