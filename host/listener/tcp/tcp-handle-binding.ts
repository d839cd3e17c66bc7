// Node's raw TCP handles (`process.binding('tcp_wrap')`, `'stream_wrap'`, `'uv'`): what the
// byte proxy's handle transport (handle-socket.ts, handle-connect.ts, tcp-handle-listener.ts)
// runs on instead of net.Socket. These bindings are internal to Node — deprecated
// (DEP0111), undocumented, free to change between releases — so they are looked up once, at
// start-up, and their shape is checked: every constructor, constant and method the transport
// calls must be there with the right type, or the handle transport is refused (with why) and
// the byte proxy stays on net.Socket. Node 20 is pinned in the Dockerfile; a Node without these
// keeps the socket transport working (docs/tcp.md, "The byte proxy's transport").

/** A libuv TCP handle (Node's TCPWrap) as the transport uses it. */
export interface TcpHandle {
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
  writeBuffer(req: WriteReq, buf: Uint8Array): number;
  /** One libuv write of several buffers (`allBuffers` true: `chunks` holds buffers only). */
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: true): number;
  shutdown(req: ShutdownReq): number;
  close(cb?: () => void): void;
  reset(cb: () => void): number;
  connect(req: ConnectReq, address: string, port: number): number;
  connect6(req: ConnectReq, address: string, port: number): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
  getsockname(out: { address?: string; port?: number; family?: string }): number;
  getpeername(out: { address?: string; port?: number; family?: string }): number;
  setNoDelay(on: boolean): number;
  setKeepAlive(on: boolean, delaySeconds: number): number;
  /** Called by libuv with each read (nread in streamBaseState[kReadBytesOrError]); may return the next user buffer. */
  /** (Node asserts a function: it cannot be unset.) */
  onread: (this: TcpHandle) => Uint8Array | undefined;
  /** A listening handle's accept callback. */
  onconnection: ((err: number, client: TcpHandle | undefined) => void) | null;
  /** The transport's object for this handle (set by it). */
  owner?: unknown;
}

/** Node's WriteWrap request. */
export interface WriteReq {
  handle: TcpHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  buffer?: Uint8Array | Uint8Array[];
  owner?: unknown;
}

/** Node's ShutdownWrap request. */
export interface ShutdownReq {
  handle: TcpHandle;
  oncomplete: (this: ShutdownReq, status: number) => void;
  owner?: unknown;
}

/** Node's TCPConnectWrap request. */
export interface ConnectReq {
  oncomplete: (this: ConnectReq, status: number) => void;
  address: string;
  port: number;
  owner?: unknown;
}

/** What the handle transport uses of Node's bindings, checked. */
export interface TcpHandleBinding {
  newSocketHandle(): TcpHandle;
  newServerHandle(): TcpHandle;
  newWriteReq(): WriteReq;
  newShutdownReq(): ShutdownReq;
  newConnectReq(): ConnectReq;
  /** streamBaseState[kReadBytesOrError]: the last read's size or error. */
  readBytesOrError(): number;
  /** streamBaseState[kLastWriteWasAsync]: the last writeBuffer left bytes queued. */
  lastWriteWasAsync(): boolean;
  /** libuv's end-of-stream code. */
  readonly UV_EOF: number;
}

/** The handle transport's bindings, or why they cannot be used. */
export type TcpHandleDetection = { readonly ok: true; readonly binding: TcpHandleBinding } | { readonly ok: false; readonly reason: string };

/** Loads a named internal binding (process.binding; a test passes another). */
export type BindingLoader = (name: string) => unknown;

/** The methods every TCP handle must have (TCPWrap's prototype chain). */
const HANDLE_METHODS = ['readStart', 'readStop', 'useUserBuffer', 'writeBuffer', 'writev', 'shutdown', 'close', 'reset', 'connect', 'connect6', 'bind', 'bind6', 'listen', 'getsockname', 'getpeername', 'setNoDelay', 'setKeepAlive'] as const;

const processBinding: BindingLoader = (name) => (process as unknown as { binding(n: string): unknown }).binding(name);

type Ctor = new (...args: unknown[]) => unknown;

/**
 * Looks Node's bindings up and checks their shape (no I/O). `load` defaults to process.binding;
 * an error it throws, a missing or mistyped member is a refusal naming it.
 */
export function detectTcpHandles(load: BindingLoader = processBinding): TcpHandleDetection {
  let tcpWrap: Record<string, unknown>, streamWrap: Record<string, unknown>, uv: Record<string, unknown>;
  try {
    tcpWrap = load('tcp_wrap') as Record<string, unknown>;
    streamWrap = load('stream_wrap') as Record<string, unknown>;
    uv = load('uv') as Record<string, unknown>;
  } catch (e) {
    return { ok: false, reason: `process.binding failed: ${(e as Error).message}` };
  }
  const fail = (what: string): TcpHandleDetection => ({ ok: false, reason: `Node's internal TCP binding changed: ${what}` });
  if (tcpWrap === null || typeof tcpWrap !== 'object' || streamWrap === null || typeof streamWrap !== 'object' || uv === null || typeof uv !== 'object') return fail('tcp_wrap, stream_wrap or uv is not an object');
  for (const n of ['TCP', 'TCPConnectWrap'] as const) if (typeof tcpWrap[n] !== 'function') return fail(`tcp_wrap.${n} is not a constructor`);
  for (const n of ['WriteWrap', 'ShutdownWrap'] as const) if (typeof streamWrap[n] !== 'function') return fail(`stream_wrap.${n} is not a constructor`);
  const constants = tcpWrap['constants'] as Record<string, unknown> | undefined;
  if (typeof constants?.['SOCKET'] !== 'number' || typeof constants['SERVER'] !== 'number') return fail('tcp_wrap.constants.SOCKET / SERVER are not numbers');
  const state = streamWrap['streamBaseState'];
  const kRead = streamWrap['kReadBytesOrError'], kAsync = streamWrap['kLastWriteWasAsync'];
  if (!(state instanceof Int32Array)) return fail('stream_wrap.streamBaseState is not an Int32Array');
  if (typeof kRead !== 'number' || typeof kAsync !== 'number' || kRead >= state.length || kAsync >= state.length) return fail('stream_wrap.kReadBytesOrError / kLastWriteWasAsync are not indices of streamBaseState');
  const eof = uv['UV_EOF'];
  if (typeof eof !== 'number' || eof >= 0) return fail('uv.UV_EOF is not a negative number');
  const TCP = tcpWrap['TCP'] as Ctor, ConnectWrap = tcpWrap['TCPConnectWrap'] as Ctor;
  const WriteWrap = streamWrap['WriteWrap'] as Ctor, ShutdownWrap = streamWrap['ShutdownWrap'] as Ctor;
  const SOCKET = constants['SOCKET'], SERVER = constants['SERVER'];
  // The methods are on the prototype chain: checked on the prototype, no handle opened.
  const proto = (TCP as unknown as { prototype: Record<string, unknown> }).prototype;
  for (const m of HANDLE_METHODS) if (typeof proto?.[m] !== 'function') return fail(`TCP.prototype.${m} is not a function`);
  return {
    ok: true,
    binding: {
      newSocketHandle: () => new TCP(SOCKET) as TcpHandle,
      newServerHandle: () => new TCP(SERVER) as TcpHandle,
      newWriteReq: () => new WriteWrap() as WriteReq,
      newShutdownReq: () => new ShutdownWrap() as ShutdownReq,
      newConnectReq: () => new ConnectWrap() as ConnectReq,
      readBytesOrError: () => state[kRead]!,
      lastWriteWasAsync: () => state[kAsync] !== 0,
      UV_EOF: eof,
    },
  };
}

/** The byte proxy's transport: Node's net.Socket, or its raw TCP handles. */
export type TcpTransportKind = 'socket' | 'handle';

/** What a byte proxy runs on: the choice, the bindings when it is `handle`, and why when `handle` was asked for or detected but refused. */
export interface TcpTransportChoice {
  readonly kind: TcpTransportKind;
  readonly binding: TcpHandleBinding | null;
  /** Why the handle transport is not used (null: it is, or socket was asked for). */
  readonly refused: string | null;
}

let detected: TcpHandleDetection | null = null;

/**
 * The transport for `requested` (undefined: `handle` when the bindings pass the check, else
 * `socket`). `handle` asked for explicitly and refused is an error (what, why); detected once per process.
 */
export function chooseTcpTransport(requested: TcpTransportKind | undefined, load?: BindingLoader): TcpTransportChoice {
  if (requested === 'socket') return { kind: 'socket', binding: null, refused: null };
  const d = load !== undefined ? detectTcpHandles(load) : (detected ??= detectTcpHandles());
  if (d.ok) return { kind: 'handle', binding: d.binding, refused: null };
  if (requested === 'handle') throw new Error(`--tcp-transport=handle: refused: ${d.reason}`);
  return { kind: 'socket', binding: null, refused: d.reason };
}
