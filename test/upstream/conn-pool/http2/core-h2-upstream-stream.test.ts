// The core codec's upstream HTTP/2 stream and a server's trailers, written frame by frame on a
// raw loopback socket: the trailer block's fields reach the handler's onResponseEnd as flat
// name/value pairs in order (one list sized once per block); a pseudo-header in the trailers, or
// trailers without END_STREAM, are a malformed response (RFC 9113 §8.1): protocol_error, the
// stream reset PROTOCOL_ERROR, counted as upstream_cx_protocol_error.
import { describe, it, expect } from 'vitest';
import type { Socket } from 'node:net';
import { Core } from '../../../../host/core/wasm.js';
import type { ClusterPool } from '../../../../host/upstream/cluster-pool.js';
import type { UpstreamFailure } from '../../../../host/upstream/conn-pool/conn-pool.js';
import { frame, DATA, HEADERS, RST_STREAM, END_HEADERS, END_STREAM, PROTOCOL_ERROR } from '../../../listener/http2-core/h2-wire.js';
import { acquire, until } from './h2-pool-driver.js';
import type { PeerFrame } from '../../../helpers/raw-h2-peer.js';
import { coreH2PoolRig, STATUS_200 } from './core-h2-pool-rig.js';
import { TrailerBlock, trailerStrings } from '../../../../host/common/trailer-block.js';

const core = new Core();
const { rawServer, makePool: poolOf } = coreH2PoolRig(core);
/** The pool the trailer tests use: at most 4 connections. */
const makePool = () => poolOf(undefined, 4);

/** An HPACK literal field without indexing, new name (RFC 7541 §6.2.2), short strings. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name, 'latin1'), Buffer.from([value.length]), Buffer.from(value, 'latin1')]);
}

/** A GET through a stream of the pool: its trailers at the end, or the failure. */
async function exchange(pool: ClusterPool, port: number): Promise<{ trailers: readonly string[] | undefined } | UpstreamFailure | string> {
  const st = await acquire(pool, port);
  if (typeof st === 'string') return st;
  return new Promise((resolve) => {
    st.start(Buffer.from('POST /svc/M HTTP/1.1\r\nhost: svc\r\ncontent-type: application/grpc\r\nte: trailers\r\n\r\n'), {
      onResponseHead: () => {},
      onResponseData: () => true,
      onResponseEnd: (trailers) => {
        // The core codec carries them as bytes (common/trailer-block.ts).
        expect(trailers === undefined || trailers instanceof TrailerBlock).toBe(true);
        resolve({ trailers: trailers === undefined ? undefined : [...trailerStrings(trailers)] });
      },
      onUpstreamFailure: (f) => resolve(f),
      onRequestDrain: () => {},
    }, { isHead: false, chunked: false, hasBody: false });
  });
}

/** A server that answers each stream with a 200 head, a DATA frame, then `trailers` with `flags`. */
function answering(trailers: Buffer, flags: number): (f: PeerFrame, sock: Socket) => void {
  return (f, sock) => {
    if (f.type !== HEADERS) return;
    sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, f.stream, STATUS_200), frame(DATA, 0, f.stream, Buffer.from([0, 0, 0, 0, 0])), frame(HEADERS, END_HEADERS | flags, f.stream, trailers)]));
  };
}

describe('core upstream HTTP/2 stream: trailers', () => {
  it('reach onResponseEnd as flat pairs in their order, each field once; the next stream gets its own', async () => {
    const block = Buffer.concat([literal('grpc-status', '0'), literal('grpc-message', 'fine'), literal('x-t', 'a'), literal('x-t', 'b')]);
    const s = await rawServer(answering(block, END_STREAM));
    const { pool } = makePool();
    const first = await exchange(pool, s.port);
    expect(first).toEqual({ trailers: ['grpc-status', '0', 'grpc-message', 'fine', 'x-t', 'a', 'x-t', 'b'] });
    const second = await exchange(pool, s.port);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });

  it('one trailer field (a gRPC OK with no message) is a two-entry list', async () => {
    const s = await rawServer(answering(literal('grpc-status', '0'), END_STREAM));
    const { pool } = makePool();
    expect(await exchange(pool, s.port)).toEqual({ trailers: ['grpc-status', '0'] });
  });

  it('a pseudo-header among the trailers: protocol_error, the stream reset PROTOCOL_ERROR, upstream_cx_protocol_error', async () => {
    const s = await rawServer(answering(Buffer.concat([literal('grpc-status', '0'), STATUS_200]), END_STREAM));
    const { pool, stats } = makePool();
    expect(await exchange(pool, s.port)).toBe('protocol_error');
    await until(() => s.seen.some((f) => f.type === RST_STREAM));
    expect(s.seen.find((f) => f.type === RST_STREAM)!.payload.readUInt32BE(0)).toBe(PROTOCOL_ERROR);
    expect(stats.get('upstream_cx_protocol_error')).toBe(1);
  });

  it('trailers without END_STREAM: protocol_error, the stream reset PROTOCOL_ERROR', async () => {
    const s = await rawServer(answering(literal('grpc-status', '0'), 0));
    const { pool, stats } = makePool();
    expect(await exchange(pool, s.port)).toBe('protocol_error');
    await until(() => s.seen.some((f) => f.type === RST_STREAM));
    expect(s.seen.find((f) => f.type === RST_STREAM)!.payload.readUInt32BE(0)).toBe(PROTOCOL_ERROR);
    expect(stats.get('upstream_cx_protocol_error')).toBe(1);
  });
});
