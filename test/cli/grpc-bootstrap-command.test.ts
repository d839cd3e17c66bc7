// `wasmesh grpc-bootstrap`: the bootstrap it prints is one grpc-js-xds accepts (its own
// validator), names the node as Istio does with GENERATOR=grpc, and bad flags are usage errors.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../host/cli/args.js';
import { grpcBootstrapCommand } from '../../host/cli/grpc-bootstrap-command.js';
import { readNode, structToJson } from '../../host/xds/xds-node.js';
import { fakeIo } from '../helpers/fake-io.js';

// grpc-js-xds's bootstrap validator (internal module of the pinned 1.14.1).
const { validateBootstrapConfig } = createRequire(import.meta.url)('@grpc/grpc-js-xds/build/src/xds-bootstrap.js') as {
  validateBootstrapConfig(o: unknown): { xdsServers: Array<{ server_uri: string }>; node: { id: string; metadata: unknown } };
};

describe('wasmesh grpc-bootstrap', () => {
  it('prints a bootstrap grpc-js-xds accepts: the control plane, the node as a gRPC sidecar of its namespace and labels', async () => {
    const io = fakeIo();
    expect(await grpcBootstrapCommand(['--xds', '10.0.0.9:15010', '--namespace', 'shop', '--labels', 'app=client,version=v1', '--node-id', 'sidecar~10.0.0.5~client-1.shop~shop.svc.cluster.local'], io)).toBe(0);
    const info = validateBootstrapConfig(JSON.parse(io.stdout));
    expect(info.xdsServers.map((s) => s.server_uri)).toEqual(['10.0.0.9:15010']);
    // What the control plane reads from it (grpc-js-xds sends the node as a Struct).
    const node = readNode({ id: info.node.id, metadata: info.node.metadata, user_agent_name: 'gRPC Node Pure JS' });
    expect(node).toMatchObject({ kind: 'grpc', type: 'sidecar', namespace: 'shop', labels: { app: 'client', version: 'v1' } });
    expect(structToJson(info.node.metadata)).toMatchObject({ GENERATOR: 'grpc' });
  });

  it('an IPv6 control plane address is bracketed; a bad --xds or --labels is a usage error', async () => {
    const io = fakeIo();
    await grpcBootstrapCommand(['--xds', '[::1]:15010'], io);
    expect(JSON.parse(io.stdout).xds_servers[0].server_uri).toBe('[::1]:15010');
    await expect(grpcBootstrapCommand(['--xds', 'nope'], fakeIo())).rejects.toThrow(UsageError);
    await expect(grpcBootstrapCommand(['--labels', 'a'], fakeIo())).rejects.toThrow(UsageError);
  });
});
