// The host side of the core's ClientHello reader (assembly/tls/client-hello.ts): bytes in, a
// small result out — not TLS, need more, malformed, too large, or TLS with its SNI host name
// and ALPN protocols. A ClientHelloReader keeps one connection's bytes in a reusable region of
// linear memory, so a ClientHello arriving in many reads is appended, never copied again.
// It takes no socket and no config: the gateway's passthrough listener and, later, the
// sidecar's outbound sniffing call the same thing.
import type { Core } from '../wasm.js';
import { InputRegion } from '../codec/input-region.js';
import type { CodecExports } from '../codec/codec-layout.js';

// Mirrors assembly/tls/client-hello.ts.
export const CH_SNI_PTR = 0;
export const CH_SNI_LEN = 4;
export const CH_ALPN_PTR = 8;
export const CH_ALPN_LEN = 12;
export const CH_FLAGS = 16;
export const CH_BYTES = 20;
export const CH_ERROR_AT = 24;
export const CH_VERSION = 28;
export const CH_SIZE = 32;
/** Envoy tls_inspector's max_client_hello_size default (and maximum): 64 KiB. */
export const DEFAULT_MAX_CLIENT_HELLO = 64 * 1024;

/** The core's ChStatus. */
export const CH_TLS = 0;
export const CH_NEED_MORE = 1;
export const CH_NOT_TLS = 2;
export const CH_MALFORMED = 3;
export const CH_TOO_LARGE = 4;

const LAYOUT: readonly number[] = [CH_SIZE, CH_VERSION, DEFAULT_MAX_CLIENT_HELLO, CH_TOO_LARGE];

interface TlsExports {
  alloc(size: number): number;
  free(ptr: number): void;
  tls_layout(which: number): number;
  tls_client_hello_parse(ptr: number, len: number, maxBytes: number, out: number): number;
}

export type ClientHelloResult =
  | { readonly kind: 'tls'; readonly sni: string | null; readonly alpn: readonly string[]; readonly version: number; /** Record bytes the ClientHello took. */ readonly bytes: number }
  | { readonly kind: 'need_more' }
  | { readonly kind: 'not_tls' }
  | { readonly kind: 'malformed'; /** Offset in the handshake message where reading stopped. */ readonly at: number }
  | { readonly kind: 'too_large' };

const NEED_MORE: ClientHelloResult = { kind: 'need_more' };
const NOT_TLS: ClientHelloResult = { kind: 'not_tls' };
const TOO_LARGE: ClientHelloResult = { kind: 'too_large' };
const latin1 = new TextDecoder('latin1');

const checked = new WeakSet<Core>();

function tlsExports(core: Core): TlsExports {
  const e = core.exports as unknown as TlsExports;
  if (!checked.has(core)) {
    if (typeof e.tls_client_hello_parse !== 'function') throw new Error('wasmesh: core.wasm lacks the tls exports; rebuild it (npm run build:wasm)');
    LAYOUT.forEach((value, which) => {
      const got = e.tls_layout(which);
      if (got !== value) throw new Error(`wasmesh: host/core/tls/ and assembly/tls/ disagree on layout constant ${which} (host ${value}, core ${got})`);
    });
    checked.add(core);
  }
  return e;
}

/** One connection's ClientHello reader: push() each read; the result is final once it is not need_more. */
export class ClientHelloReader {
  readonly #core: Core;
  readonly #e: TlsExports;
  readonly #input: InputRegion;
  readonly #out: number;
  readonly #maxBytes: number;
  #result: ClientHelloResult = NEED_MORE;

  /** `maxBytes`: the record bytes a ClientHello may take (default and maximum 64 KiB, as Envoy). */
  constructor(core: Core, maxBytes = DEFAULT_MAX_CLIENT_HELLO) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > DEFAULT_MAX_CLIENT_HELLO) throw new RangeError(`wasmesh: max ClientHello size must be 1..${DEFAULT_MAX_CLIENT_HELLO} bytes, got ${maxBytes}`);
    this.#core = core;
    this.#e = tlsExports(core);
    this.#input = new InputRegion(core, this.#e as unknown as CodecExports);
    this.#out = this.#e.alloc(CH_SIZE);
    this.#maxBytes = maxBytes;
  }

  /** Appends `chunk` and reads again; after a final answer further bytes are ignored. */
  push(chunk: Uint8Array): ClientHelloResult {
    if (this.#result !== NEED_MORE) return this.#result;
    // Bytes past the limit cannot change the answer: keep at most limit + one record header.
    const room = this.#maxBytes + 5 - this.#input.length;
    this.#input.append(chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk);
    this.#result = this.#parse();
    return this.#result;
  }

  get result(): ClientHelloResult {
    return this.#result;
  }

  /** Gives the memory back; the reader is not used again. */
  release(): void {
    this.#input.free();
    if (this.#out !== 0) this.#e.free(this.#out);
  }

  #parse(): ClientHelloResult {
    const status = this.#e.tls_client_hello_parse(this.#input.ptr, this.#input.length, this.#maxBytes, this.#out);
    const dv = this.#core.view;
    const o = this.#out;
    switch (status) {
      case CH_NEED_MORE: return NEED_MORE;
      case CH_NOT_TLS: return NOT_TLS;
      case CH_TOO_LARGE: return TOO_LARGE;
      case CH_MALFORMED: return { kind: 'malformed', at: dv.getUint32(o + CH_ERROR_AT, true) };
      case CH_TLS: {
        const u8 = this.#core.u8;
        const sniLen = dv.getUint32(o + CH_SNI_LEN, true);
        const sniPtr = dv.getUint32(o + CH_SNI_PTR, true);
        const alpnLen = dv.getUint32(o + CH_ALPN_LEN, true);
        const alpnPtr = dv.getUint32(o + CH_ALPN_PTR, true);
        const alpn: string[] = [];
        for (let i = 0; i < alpnLen;) {
          const n = u8[alpnPtr + i]!;
          alpn.push(latin1.decode(u8.subarray(alpnPtr + i + 1, alpnPtr + i + 1 + n)));
          i += 1 + n;
        }
        return {
          kind: 'tls',
          sni: sniLen === 0 ? null : latin1.decode(u8.subarray(sniPtr, sniPtr + sniLen)),
          alpn,
          version: dv.getUint32(o + CH_VERSION, true),
          bytes: dv.getUint32(o + CH_BYTES, true),
        };
      }
      default: throw new Error(`wasmesh: the core's ClientHello reader returned unknown status ${status}`);
    }
  }
}

/** Reads the ClientHello at the start of `bytes` once (a new reader per call). */
export function parseClientHello(core: Core, bytes: Uint8Array, maxBytes = DEFAULT_MAX_CLIENT_HELLO): ClientHelloResult {
  const r = new ClientHelloReader(core, maxBytes);
  try {
    return r.push(bytes);
  } finally {
    r.release();
  }
}
