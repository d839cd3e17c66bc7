import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { hcmPathNormalization } from '../../host/envoy/path-normalization.js';
import { seed000Resources, seed000Split } from '../helpers/mesh-fixtures.js';
import type { PathNormalization } from '../../host/model/mesh-settings.js';

describe('hcmPathNormalization', () => {
  it('sets the HCM fields as Istio does per mode (absent: BASE)', () => {
    expect(hcmPathNormalization(undefined)).toEqual({ normalize_path: true });
    expect(hcmPathNormalization('NONE')).toEqual({ normalize_path: false });
    expect(hcmPathNormalization('BASE')).toEqual({ normalize_path: true });
    expect(hcmPathNormalization('MERGE_SLASHES')).toEqual({ normalize_path: true, merge_slashes: true });
    expect(hcmPathNormalization('DECODE_AND_MERGE_SLASHES')).toEqual({ normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' });
  });

  it.each<PathNormalization | undefined>([undefined, 'NONE', 'DECODE_AND_MERGE_SLASHES'])('reaches the bootstrap and inbound HCMs (%s)', (mode) => {
    const mesh = seed000Split(1, 2);
    if (mode !== undefined) mesh.pathNormalization = mode;
    const r = envoyBootstrap({ mesh, resources: seed000Resources }, { listen: { host: '127.0.0.1', port: 1 }, admin: { host: '127.0.0.1', port: 2 } });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const hcm = (r.config as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    expect(hcm).toMatchObject(hcmPathNormalization(mode));
    const inbound = envoyInbound({ listen: { host: '0.0.0.0', port: 15006 }, appPorts: [8080], mode: 'DISABLE', ...(mode !== undefined ? { pathNormalization: mode } : {}) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect((inbound.listener as any).filter_chains[0].filters[0].typed_config).toMatchObject(hcmPathNormalization(mode));
  });
});
