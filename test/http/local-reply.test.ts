// The shape of a local reply to a gRPC request (Envoy's prepareLocalReply with is_grpc): HTTP 200,
// application/grpc, grpc-status mapped from the HTTP status unless given, the body as a
// percent-encoded grpc-message, no content-length or text content-type.
import { describe, expect, it } from 'vitest';
import { LOCAL_REPLY, grpcLocalReply } from '../../host/http/local-reply.js';

describe('grpcLocalReply', () => {
  it('maps each local reply the data path makes to its gRPC status, with the body as grpc-message', () => {
    const expected: Record<string, number> = { NR: 12, UH: 14, UF: 14, UO: 14, UC: 14, UR: 14, UT: 14, UPE: 14, DPE: 2 };
    for (const [flag, reply] of Object.entries(LOCAL_REPLY)) {
      const g = grpcLocalReply(reply!.status, [], reply!.body);
      expect([flag, g.status, g.grpcStatus]).toEqual([flag, '200 OK', expected[flag]]);
      expect(g.headers).toContainEqual(['content-type', 'application/grpc']);
      expect(g.headers).toContainEqual(['grpc-status', String(expected[flag])]);
      if (reply!.body !== '') expect(g.headers).toContainEqual(['grpc-message', reply!.body]);
      else expect(g.headers.some(([n]) => n === 'grpc-message')).toBe(false);
    }
  });

  it("keeps a reply's own grpc-status and other headers; drops its content-type and content-length; encodes the message", () => {
    const g = grpcLocalReply('403 Forbidden', [['grpc-status', '7'], ['content-type', 'text/html'], ['content-length', '9'], ['x-a', 'b']], 'RBAC: access denied\n');
    expect(g.grpcStatus).toBe(7);
    expect(g.headers).toEqual([['grpc-status', '7'], ['x-a', 'b'], ['content-type', 'application/grpc'], ['grpc-message', 'RBAC: access denied']]);
    expect(grpcLocalReply('429 Too Many Requests', [], 'local_rate_limited 100%').headers).toContainEqual(['grpc-message', 'local_rate_limited 100%25']);
    expect(grpcLocalReply('429 Too Many Requests', [], '').grpcStatus).toBe(14);
  });
});
