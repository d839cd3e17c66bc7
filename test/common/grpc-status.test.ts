// gRPC status helpers: which content-types are gRPC (Envoy's hasGrpcContentType), the HTTP → gRPC
// table of gRPC's http-grpc-status-mapping.md (Envoy's httpToGrpcStatus), grpc-status parsing,
// and grpc-message percent-encoding.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  GRPC_STATUS_CAMEL, GRPC_STATUS_SNAKE, grpcStatusOfTrailers, httpToGrpcStatus, isGrpcContentType, parseGrpcStatus, percentEncodeGrpcMessage,
} from '../../host/common/grpc-status.js';

describe('isGrpcContentType', () => {
  it('application/grpc, with +codec or ;params, any case; not grpc-web, not other types', () => {
    for (const ct of ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc;charset=utf-8', 'Application/GRPC']) expect(isGrpcContentType(ct)).toBe(true);
    for (const ct of [null, '', 'application/grpc-web', 'application/grpc-web+proto', 'application/grpc-web-text', 'application/grpcx', 'application/json', 'text/grpc']) expect(isGrpcContentType(ct)).toBe(false);
  });
});

describe('httpToGrpcStatus', () => {
  it("is gRPC's table: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, else UNKNOWN", () => {
    const table: Array<[number, number]> = [[400, 13], [401, 16], [403, 7], [404, 12], [429, 14], [502, 14], [503, 14], [504, 14], [200, 2], [500, 2], [408, 2], [431, 2]];
    for (const [http, grpc] of table) expect([http, httpToGrpcStatus(http)]).toEqual([http, grpc]);
  });
});

describe('grpc-status values', () => {
  it('parses digits only; names cover the 17 canonical codes', () => {
    expect(parseGrpcStatus('0')).toBe(0);
    expect(parseGrpcStatus('14')).toBe(14);
    for (const bad of [null, undefined, '', '-1', '1.5', ' 1', 'x', '1234567890']) expect(parseGrpcStatus(bad)).toBe(-1);
    expect(grpcStatusOfTrailers(['grpc-message', 'm', 'Grpc-Status', '5'])).toBe(5);
    expect(grpcStatusOfTrailers(['x', 'y'])).toBe(-1);
    expect(grpcStatusOfTrailers(undefined)).toBe(-1);
    expect(GRPC_STATUS_CAMEL).toHaveLength(17);
    expect(GRPC_STATUS_SNAKE[16]).toBe('UNAUTHENTICATED');
  });
});

describe('percentEncodeGrpcMessage', () => {
  it('keeps printable ASCII except %, encodes the rest byte by byte (UTF-8), and decodes back', () => {
    expect(percentEncodeGrpcMessage('no healthy upstream')).toBe('no healthy upstream');
    expect(percentEncodeGrpcMessage('100% é\n')).toBe('100%25 %C3%A9%0A');
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
      const enc = percentEncodeGrpcMessage(s);
      expect(/^[\x20-\x7e]*$/.test(enc)).toBe(true);
      expect(decodeURIComponent(enc)).toBe(Buffer.from(s, 'utf8').toString('utf8'));
    }));
  });
});
