// A minimal h2c server on raw net sockets with the core doing the HTTP/2 work: the frame
// scanner reads frames in place, the HPACK decoder decodes each request's header block, the
// encoder writes the response's. Enough for h2load (preface, SETTINGS and its ACK, PING,
// HEADERS [+ CONTINUATION], GOAWAY), answering every request with HEADERS + DATA "ok".
//
// A prototype for measurement, not the production listener: it keeps no stream state, does
// not enforce or track flow-control windows (its 2-byte answers stay far inside the peer's
// window, which nghttp2 refills with WINDOW_UPDATE), ignores request bodies and priorities.
import net from 'node:net';
import { Core } from '../../host/core/wasm.js';
import {
  FrameScanner, FRAME_HEADERS, FRAME_CONTINUATION, FRAME_SETTINGS, FRAME_PING, FRAME_GOAWAY,
  FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM,
} from '../../host/core/h2/frame-scanner.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../host/core/h2/hpack.js';
import { H2_OK, H2_INCOMPLETE, h2StatusEntry } from '../../host/core/h2/h2-status.js';

const FRAME_DATA = 0;
const RESPONSE_BODY = Buffer.from('ok');
const RESPONSE_HEADERS: HeaderField[] = [[':status', '200'], ['content-type', 'text/plain'], ['content-length', '2']];
/** Our SETTINGS: MAX_CONCURRENT_STREAMS 100 (Envoy's default is 2^31-1; h2load -m stays below). */
const OUR_SETTINGS = frameHeader(6, FRAME_SETTINGS, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
const SETTINGS_ACK = frameHeader(0, FRAME_SETTINGS, FLAG_ACK, 0);

function frameHeader(length: number, type: number, flags: number, stream: number, payload?: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(9 + (payload?.length ?? 0));
  b.writeUIntBE(length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream, 5);
  if (payload) b.set(payload, 9);
  return b;
}

export interface CoreH2cServer {
  server: net.Server;
  /** Requests answered so far. */
  requests(): number;
}

/** Starts the server on 127.0.0.1:`port` (0: any); one Core for every connection, as one worker has. */
export async function startCoreH2cServer(port = 0): Promise<CoreH2cServer> {
  const core = new Core();
  let answered = 0;
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const scanner = new FrameScanner(core);
    const decoder = new HpackDecoder(core);
    const encoder = new HpackEncoder(core);
    let preface = false;
    let block: Buffer[] = [];
    let out: Buffer[] = [OUR_SETTINGS];
    const fail = (status: number): void => {
      const e = h2StatusEntry(status);
      const goaway = frameHeader(8, FRAME_GOAWAY, 0, 0, Buffer.from([0, 0, 0, 0, 0, 0, 0, e.errorCode]));
      socket.end(Buffer.concat([...out, goaway]));
      out = [];
    };
    const answer = (stream: number, st: number): void => {
      if (st !== H2_OK) return fail(st);
      // A real listener would build the request from the decoded fields here; the prototype
      // only checks that the list is not empty.
      if (decoder.count === 0) return fail(st);
      const block = encoder.encode(RESPONSE_HEADERS);
      out.push(frameHeader(block.length, FRAME_HEADERS, FLAG_END_HEADERS, stream, block));
      out.push(frameHeader(2, FRAME_DATA, FLAG_END_STREAM, stream, RESPONSE_BODY));
      answered++;
    };
    socket.on('data', (chunk: Buffer) => {
      scanner.push(chunk);
      if (!preface) {
        const st = scanner.readPreface();
        if (st === H2_INCOMPLETE) return;
        if (st !== H2_OK) return fail(st);
        preface = true;
      }
      for (;;) {
        const st = scanner.next();
        if (st === H2_INCOMPLETE) break;
        if (st !== H2_OK) return fail(st);
        const type = scanner.type;
        if (type === FRAME_HEADERS) {
          if (scanner.flags & FLAG_END_HEADERS) answer(scanner.streamId, decoder.decodeAt(scanner.payloadPtr, scanner.payloadLength));
          else block = [Buffer.from(scanner.payload())];
        } else if (type === FRAME_CONTINUATION) {
          block.push(Buffer.from(scanner.payload()));
          if (scanner.flags & FLAG_END_HEADERS) answer(scanner.streamId, decoder.decode(Buffer.concat(block)));
        } else if (type === FRAME_SETTINGS) {
          if (!(scanner.flags & FLAG_ACK)) out.push(SETTINGS_ACK);
        } else if (type === FRAME_PING) {
          if (!(scanner.flags & FLAG_ACK)) out.push(frameHeader(8, FRAME_PING, FLAG_ACK, 0, scanner.payload()));
        } else if (type === FRAME_GOAWAY) {
          socket.end(Buffer.concat(out));
          out = [];
          return;
        }
      }
      if (out.length > 0) {
        socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
        out = [];
      }
    });
    socket.on('close', () => {
      scanner.dispose();
      decoder.dispose();
      encoder.dispose();
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, requests: () => answered };
}
