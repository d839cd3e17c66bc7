// `wasmesh envoy-bootstrap`: the node metadata it writes is what the control plane reads back
// (labels, --gateway, --filters, --listen), --delta picks DELTA_GRPC, and bad flags are usage errors.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UsageError } from '../../host/cli/args.js';
import { envoyBootstrapCommand } from '../../host/cli/envoy-bootstrap-command.js';
import { fakeIo } from '../helpers/fake-io.js';
import { ISTIO_TAG_NAMES } from '../../host/envoy/stats-tags.js';

describe('wasmesh envoy-bootstrap', () => {
  it('--listen, --gateway and --filters become node metadata; --delta selects incremental ADS', async () => {
    const io = fakeIo();
    expect(await envoyBootstrapCommand(['--xds', '127.0.0.1:15010', '--labels', 'istio=ingressgateway', '--gateway', 'web-gateway', '--listen', '127.0.0.1:18080', '--filters', '--delta'], io)).toBe(0);
    const b = parse(io.stdout);
    expect(b.node.metadata).toMatchObject({ LABELS: { istio: 'ingressgateway' }, WASMESH_GATEWAY: 'web-gateway', WASMESH_LISTEN: '127.0.0.1:18080', WASMESH_FILTERS: '1' });
    expect(b.dynamic_resources.ads_config.api_type).toBe('DELTA_GRPC');
  });

  it('--filters brings the Istio stats tags (the wasmesh_stats filter arrives over LDS); --istio-metrics off leaves them out and tells the control plane', async () => {
    const on = fakeIo();
    await envoyBootstrapCommand(['--filters'], on);
    const b = parse(on.stdout);
    expect(b.stats_config.stats_tags.map((t: { tag_name: string }) => t.tag_name)).toEqual(ISTIO_TAG_NAMES);
    expect(b.node.metadata.WASMESH_ISTIO_METRICS).toBeUndefined();
    const plain = fakeIo();
    await envoyBootstrapCommand([], plain);
    expect(parse(plain.stdout).stats_config).toBeUndefined();
    const off = fakeIo();
    await envoyBootstrapCommand(['--filters', '--istio-metrics', 'off'], off);
    expect(parse(off.stdout).stats_config).toBeUndefined();
    expect(parse(off.stdout).node.metadata.WASMESH_ISTIO_METRICS).toBe('off');
    await expect(envoyBootstrapCommand(['--istio-metrics', 'maybe'], fakeIo())).rejects.toThrow(/--istio-metrics: expected on or off/);
  });

  it('no --listen: no WASMESH_LISTEN (the Gateway\'s ports); an IPv6 --listen is bracketed; a bad one is a usage error', async () => {
    const io = fakeIo();
    await envoyBootstrapCommand([], io);
    const b = parse(io.stdout);
    expect(b.node.metadata.WASMESH_LISTEN).toBeUndefined();
    expect(b.dynamic_resources.ads_config.api_type).toBe('GRPC');
    const v6 = fakeIo();
    await envoyBootstrapCommand(['--listen', '[::1]:8080'], v6);
    expect(parse(v6.stdout).node.metadata.WASMESH_LISTEN).toBe('[::1]:8080');
    await expect(envoyBootstrapCommand(['--listen', '8080'], fakeIo())).rejects.toThrow(UsageError);
  });

  it('--app-ports and --inbound (a sidecar\'s inbound listener) go into the node metadata; misuse is a usage error', async () => {
    const io = fakeIo();
    expect(await envoyBootstrapCommand(['--proxy-type', 'sidecar', '--app-ports', '5005,8080', '--inbound', '127.0.0.1:16006'], io)).toBe(0);
    expect(parse(io.stdout).node.metadata).toMatchObject({ WASMESH_APP_PORTS: '5005,8080', WASMESH_INBOUND: '127.0.0.1:16006' });
    const none = fakeIo();
    await envoyBootstrapCommand(['--proxy-type', 'sidecar'], none);
    expect(parse(none.stdout).node.metadata.WASMESH_APP_PORTS).toBeUndefined();
    await expect(envoyBootstrapCommand(['--app-ports', '5005'], fakeIo())).rejects.toThrow(/--app-ports: only a sidecar/);
    await expect(envoyBootstrapCommand(['--proxy-type', 'sidecar', '--app-ports', '5005,5005'], fakeIo())).rejects.toThrow(/5005 is given twice/);
    await expect(envoyBootstrapCommand(['--proxy-type', 'sidecar', '--app-ports', '0'], fakeIo())).rejects.toThrow(UsageError);
    await expect(envoyBootstrapCommand(['--proxy-type', 'sidecar', '--inbound', '127.0.0.1:16006'], fakeIo())).rejects.toThrow(/--inbound needs --app-ports/);
  });

  it('--interception-mode (a sidecar\'s capture) becomes Istio\'s INTERCEPTION_MODE; another value or a gateway is a usage error', async () => {
    const io = fakeIo();
    expect(await envoyBootstrapCommand(['--proxy-type', 'sidecar', '--interception-mode', 'TPROXY'], io)).toBe(0);
    expect(parse(io.stdout).node.metadata.INTERCEPTION_MODE).toBe('TPROXY');
    const none = fakeIo();
    await envoyBootstrapCommand(['--proxy-type', 'sidecar'], none);
    expect(parse(none.stdout).node.metadata.INTERCEPTION_MODE).toBeUndefined();
    await expect(envoyBootstrapCommand(['--proxy-type', 'sidecar', '--interception-mode', 'tproxy'], fakeIo())).rejects.toThrow(/--interception-mode: expected REDIRECT or TPROXY, got "tproxy"/);
    await expect(envoyBootstrapCommand(['--interception-mode', 'TPROXY'], fakeIo())).rejects.toThrow(/--interception-mode: only a sidecar/);
  });
});
