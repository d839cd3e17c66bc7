// MeshConfig.accessLogs as Envoy's file access loggers on the connection manager: path, TEXT
// format with its newline, JSON labels, response.code filters as status_code_filter (EQ/GE/LE,
// `!=` as an or_filter), on the bootstrap, the sidecar inbound listener and through xDS.
// (envoy-validate.test.ts runs the bootstrap case through the real Envoy.)
import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { envoyStatusFilter } from '../../host/envoy/access-log-config.js';
import { cases } from './bootstrap-cases.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { envoySnapshot } from '../../host/control-plane/snapshots.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import { ISTIO_DEFAULT_TEXT_FORMAT } from '../../host/common/access-log-format.js';
import { passesFilter, type ResponseCodeFilter } from '../../host/model/access-logging.js';
import fc from 'fast-check';

/** Envoy's AccessLogFilter (the subset envoyStatusFilter writes) evaluated for a status code. */
function envoyPasses(f: Obj, code: number): boolean {
  if (f.or_filter !== undefined) return (f.or_filter.filters as Obj[]).some((g) => envoyPasses(g, code));
  const { op, value } = f.status_code_filter.comparison;
  const v = value.default_value as number;
  return op === 'EQ' ? code === v : op === 'GE' ? code >= v : code <= v;
}

type Obj = Record<string, any>;
const hcmOf = (config: Obj): Obj => config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;

describe('Envoy access-log config', () => {
  it('TEXT with the trailing newline, JSON labels with the filter; /dev/stdout and /dev/stderr as stream loggers', () => {
    const { config } = envoyBootstrap(cases.accessLogs!.loaded, cases.accessLogs!.opts);
    const logs = hcmOf(config as Obj).access_log as Obj[];
    expect(logs[0]).toEqual({ name: 'envoy.access_loggers.stdout', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format_source: { inline_string: ISTIO_DEFAULT_TEXT_FORMAT } } } });
    expect(logs[1]!.name).toBe('envoy.access_loggers.stderr');
    expect(logs[1]!.typed_config.log_format.json_format.response_code).toBe('%RESPONSE_CODE%');
    expect(logs[1]!.filter.or_filter.filters.map((f: Obj) => [f.status_code_filter.comparison.op, f.status_code_filter.comparison.value.default_value])).toEqual([['LE', 199], ['GE', 201]]);
  });

  it('comparisons in Envoy\'s three operators', () => {
    const cmp = (op: '==' | '<' | '<=' | '>' | '>=', value: number): unknown => (envoyStatusFilter({ op, value }) as Obj).status_code_filter.comparison;
    expect(cmp('==', 404)).toMatchObject({ op: 'EQ', value: { default_value: 404 } });
    expect(cmp('>', 399)).toMatchObject({ op: 'GE', value: { default_value: 400 } });
    expect(cmp('<', 500)).toMatchObject({ op: 'LE', value: { default_value: 499 } });
    expect(cmp('>=', 500)).toMatchObject({ op: 'GE', value: { default_value: 500 } });
    expect(cmp('<=', 299)).toMatchObject({ op: 'LE', value: { default_value: 299 } });
  });

  it('Envoy\'s filter keeps exactly the codes wasmesh keeps (differential, every operator)', () => {
    const ops = ['==', '!=', '<', '<=', '>', '>='] as const;
    fc.assert(fc.property(fc.constantFrom(...ops), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 999 }), (op, value, code) => {
      const f: ResponseCodeFilter = { op, value };
      return envoyPasses(envoyStatusFilter(f), code) === passesFilter(f, code);
    }), { numRuns: 2000 });
  });

  it('none: no access_log field; the sidecar inbound listener gets its own', () => {
    const { config } = envoyBootstrap({ ...cases.accessLogs!.loaded, mesh: { ...cases.accessLogs!.loaded.mesh, accessLogs: undefined } }, cases.accessLogs!.opts);
    expect('access_log' in hcmOf(config as Obj)).toBe(false);
    const { listener } = envoyInbound({ listen: { host: '0.0.0.0', port: 15006 }, appPorts: [8080], mode: 'DISABLE', accessLogs: cases.accessLogs!.loaded.mesh.accessLogs! });
    expect((listener as Obj).filter_chains[0].filters[0].typed_config.access_log).toHaveLength(2);
  });

  it('the control plane encodes it for xDS (the stream loggers among the protos it loads)', () => {
    const { config } = envoyBootstrap(cases.accessLogs!.loaded, cases.accessLogs!.opts);
    const snapshot = envoySnapshot(envoyXdsResources(config as Obj));
    const listener = [...snapshot.get(TYPE_URL.listener)!.resources.values()][0]!;
    const bytes = Buffer.from(listener.body.value);
    expect(bytes.includes('envoy.extensions.access_loggers.stream.v3.StdoutAccessLog')).toBe(true);
    expect(bytes.includes('%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%')).toBe(true);
  });
});
