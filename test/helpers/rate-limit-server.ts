// A real gRPC server of Envoy's rate limit service protocol for tests: ShouldRateLimit answered
// by `decide` (or a fixed per-descriptor budget), the requests it got recorded; messages through
// the same protos as the client (host/xds/rate-limit-client.ts).
import { Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData, type ServiceDefinition } from '@grpc/grpc-js';
import { rateLimitMessageTypes, SHOULD_RATE_LIMIT } from '../../host/xds/rate-limit-client.js';

export interface SeenRequest {
  domain: string;
  descriptors: Array<Array<[string, string]>>;
}

/** The answer as a RateLimitResponse object (field names as in rls.proto), or 'error' / 'hang'. */
export type Decide = (req: SeenRequest) => Record<string, unknown> | 'error' | 'hang';

export interface RateLimitServer {
  readonly port: number;
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

/** OVER_LIMIT once a descriptor (its entries joined) was seen more than `budget` times; statuses with a per-minute limit. */
export function budgetDecider(budget: number): Decide {
  const seen = new Map<string, number>();
  return (req) => {
    const statuses = req.descriptors.map((d) => {
      const key = JSON.stringify(d);
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      return { code: n > budget ? 2 : 1, current_limit: { requests_per_unit: budget, unit: 2, name: 'budget' }, limit_remaining: Math.max(0, budget - n), duration_until_reset: { seconds: 42 } };
    });
    return { overall_code: statuses.some((s) => s.code === 2) ? 2 : 1, statuses };
  };
}

export async function startRateLimitServer(decide: Decide): Promise<RateLimitServer> {
  const { request, response } = rateLimitMessageTypes();
  const requests: SeenRequest[] = [];
  const definition = {
    ShouldRateLimit: {
      path: SHOULD_RATE_LIMIT,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  } as unknown as ServiceDefinition;
  const server = new Server();
  server.addService(definition, {
    ShouldRateLimit: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const msg = request.toObject(request.decode(call.request), { defaults: true }) as { domain: string; descriptors: Array<{ entries: Array<{ key: string; value: string }> }> };
      const seen: SeenRequest = { domain: msg.domain, descriptors: msg.descriptors.map((d) => d.entries.map((e) => [e.key, e.value] as [string, string])) };
      requests.push(seen);
      const answer = decide(seen);
      if (answer === 'hang') return;
      if (answer === 'error') return callback({ code: status.UNAVAILABLE, details: 'test says no' });
      callback(null, Buffer.from(response.encode(response.fromObject(answer)).finish()));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return {
    port,
    requests,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
}

/**
 * The global-rate-limit tests' mesh: one service (svc.test → 127.0.0.1:`appPort`) and a
 * RateLimitPolicy sending a `user` descriptor from x-user to the service at 127.0.0.1:`rlsPort`
 * (domain `web`, 2 s timeout); `extra` adds lines to its `global` block (e.g. failureModeDeny).
 */
export function perUserGlobalLimitYaml(appPort: number, rlsPort: number, extra = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web}
spec:
  hosts: [svc.test]
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: ${appPort}}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: policy.wasmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: per-user}
spec:
  global:
    service: 127.0.0.1:${rlsPort}
    domain: web
    timeout: 2s
${extra}    rules: [{descriptor: [{requestHeader: {name: x-user, descriptorKey: user}}]}]
`;
}
