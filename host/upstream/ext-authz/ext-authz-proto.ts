// envoy.service.auth.v3.Authorization (Envoy's ext_authz gRPC API), from the .proto files that
// ship in @grpc/grpc-js-xds, encoded and decoded by protobufjs: the service definition the gRPC
// client (grpc-ext-authz.ts) and the tests' authorizers use. No message is written by hand.
import type protobuf from 'protobufjs';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { envoyProtos } from '../../xds/envoy-protos.js';

export const CHECK_METHOD = '/envoy.service.auth.v3.Authorization/Check';

/** The Authorization service for @grpc/grpc-js (client and server), messages as plain objects. */
export function authorizationService(): ServiceDefinition {
  // Envoy's API as the xDS side loads it (once per process), external_auth.proto included.
  const r = envoyProtos();
  const req = r.lookupType('envoy.service.auth.v3.CheckRequest');
  const res = r.lookupType('envoy.service.auth.v3.CheckResponse');
  const opts: protobuf.IConversionOptions = { enums: Number, longs: Number, defaults: false };
  return {
    Check: {
      path: CHECK_METHOD,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: object) => Buffer.from(req.encode(req.fromObject(v)).finish()),
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), opts),
      responseSerialize: (v: object) => Buffer.from(res.encode(res.fromObject(v)).finish()),
      responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), opts),
    },
  } as ServiceDefinition;
}
