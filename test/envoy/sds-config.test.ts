// The bootstrap pieces for SDS from the workload agent: the sds-grpc cluster over the agent's
// Unix socket (HTTP/2) and SdsSecretConfig for Istio's secret names, accepted by the real Envoy's
// config validation in a bootstrap from `wasmesh envoy-bootstrap --sds` with a TLS listener.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { envoyBootstrapCommand } from '../../host/cli/envoy-bootstrap-command.js';
import { SDS_CLUSTER, sdsCluster, sdsSecretConfig } from '../../host/envoy/sds-config.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { fakeIo } from '../helpers/fake-io.js';
import { sdsTlsListener } from '../helpers/sds-envoy.js';

const envoy = envoyForTests('sds-config');

describe('sds-config', () => {
  it('the sds-grpc cluster speaks HTTP/2 to the socket; a secret config names the secret from it and never times out', () => {
    const c = sdsCluster('./var/run/secrets/workload-spiffe-uds/socket') as { name: string; load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: unknown } }> }> } };
    expect(c.name).toBe(SDS_CLUSTER);
    expect(c.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address).toEqual({ pipe: { path: './var/run/secrets/workload-spiffe-uds/socket' } });
    expect(JSON.stringify(c)).toContain('http2_protocol_options');
    expect(sdsSecretConfig('ROOTCA')).toMatchObject({
      name: 'ROOTCA',
      sds_config: { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] }, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
    });
    expect(() => sdsCluster('')).toThrow(/empty socket path/);
  });

  it('envoy-bootstrap --sds adds the cluster beside xds-grpc', async () => {
    const io = fakeIo();
    expect(await envoyBootstrapCommand(['--sds', '/tmp/a/socket'], io)).toBe(0);
    const clusters = parse(io.stdout).static_resources.clusters as Array<{ name: string }>;
    expect(clusters.map((c) => c.name)).toEqual(['xds-grpc', 'sds-grpc']);
    const without = fakeIo();
    await envoyBootstrapCommand([], without);
    expect((parse(without.stdout).static_resources.clusters as unknown[]).length).toBe(1);
  });

  it.skipIf(envoy === null)('envoy --mode validate accepts the bootstrap with a listener taking default and ROOTCA over SDS', async () => {
    const io = fakeIo();
    await envoyBootstrapCommand(['--sds', '/tmp/wasmesh-sds-validate/socket', '--admin', '127.0.0.1:0'], io);
    const b = parse(io.stdout);
    b.static_resources.listeners = [sdsTlsListener(18443, 'xds-grpc')];
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sds-validate-'));
    const file = join(dir, 'envoy.yaml');
    writeFileSync(file, stringify(b));
    const { stdout, stderr } = await promisify(execFile)(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 20_000 });
    expect(stdout + stderr).toContain('OK');
  });
});
