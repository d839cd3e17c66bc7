// mesh-config.ts: the `istio` ConfigMap's mesh — Istio's defaults, a MeshConfig file merged over
// them field by field, `--set meshConfig.<path>=<value>` in order with istioctl's value reading,
// the injector's reading of the result, and each bad input refused with where and why.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildMeshConfig, defaultMeshConfig, MeshConfigError } from '../../host/kube/mesh-config.js';

const IMAGE = 'wasmesh/proxy:test';

describe('buildMeshConfig', () => {
  it('defaults: Istio\'s discovery address, root namespace and trust domain', () => {
    const m = buildMeshConfig({}, IMAGE);
    expect(parse(m.text)).toEqual(defaultMeshConfig());
    expect(m.mesh).toEqual({ defaultConfig: { discoveryAddress: 'istiod.istio-system.svc:15012' }, rootNamespace: 'istio-system', trustDomain: 'cluster.local' });
    expect(m.injectDefaults.trustDomain).toBe('cluster.local');
    expect(m.injectDefaults.discoveryAddress).toBe('istiod.istio-system.svc:15012');
    expect(m.injectDefaults.image).toBe(IMAGE);
  });

  it('a file merges over the defaults field by field; --set applies after it, in order; values read as istioctl reads them', () => {
    const m = buildMeshConfig({
      file: { name: 'mesh.yaml', text: 'trustDomain: corp.example\ndefaultConfig:\n  holdApplicationUntilProxyStarts: true\n' },
      sets: ['meshConfig.defaultConfig.proxyMetadata.FOO=bar', 'meshConfig.enablePrometheusMerge=false', 'meshConfig.defaultConfig.concurrency=2', 'meshConfig.trustDomain=second.example'],
    }, IMAGE);
    expect(m.mesh).toEqual({
      defaultConfig: { discoveryAddress: 'istiod.istio-system.svc:15012', holdApplicationUntilProxyStarts: true, proxyMetadata: { FOO: 'bar' }, concurrency: 2 },
      rootNamespace: 'istio-system',
      trustDomain: 'second.example',
      enablePrometheusMerge: false,
    });
    expect(m.injectDefaults.trustDomain).toBe('second.example');
    expect(m.injectDefaults.holdApplicationUntilProxyStarts).toBe(true);
    expect(m.injectDefaults.proxyMetadata).toEqual({ FOO: 'bar' });
    expect(parse(m.text)).toEqual(m.mesh);
  });

  it('an empty file is the defaults', () => {
    expect(buildMeshConfig({ file: { name: 'empty.yaml', text: '' } }, IMAGE).mesh).toEqual(defaultMeshConfig());
  });

  it('bad input names where: not YAML, not an object, a --set without =, outside meshConfig, through a scalar, a bad value', () => {
    const bad = (input: Parameters<typeof buildMeshConfig>[0]) => () => buildMeshConfig(input, IMAGE);
    expect(bad({ file: { name: 'm.yaml', text: 'a: [' } })).toThrow(/^m\.yaml: not YAML/);
    expect(bad({ file: { name: 'm.yaml', text: '- 1\n' } })).toThrow(/m\.yaml: must be a MeshConfig object/);
    expect(bad({ sets: ['meshConfig.trustDomain'] })).toThrow(/--set meshConfig\.trustDomain: expected meshConfig\.<path>=<value>/);
    expect(bad({ sets: ['values.global.hub=x'] })).toThrow(/--set values\.global\.hub=x: only meshConfig\.<path> can be set \(got "values"\)/);
    expect(bad({ sets: ['meshConfig=x'] })).toThrow(/expected meshConfig\.<field>/);
    expect(bad({ sets: ['meshConfig.a..b=x'] })).toThrow(/expected meshConfig\.<field>/);
    expect(bad({ sets: ['meshConfig.trustDomain.x=1'] })).toThrow(/trustDomain is a string, not an object/);
    // Checked by the injector's own reader: an empty trust domain, a wrong interception mode.
    expect(bad({ sets: ['meshConfig.trustDomain='] })).toThrow(MeshConfigError);
    expect(bad({ sets: ['meshConfig.trustDomain='] })).toThrow(/mesh config trustDomain: must be a non-empty string/);
    expect(bad({ sets: ['meshConfig.defaultConfig.interceptionMode=NAT'] })).toThrow(/mesh config defaultConfig/);
  });
});
