// The handle transport's start-up check: Node 20's bindings pass it; a binding of another shape
// (a method missing or of the wrong type, a constant gone, process.binding throwing) is refused
// with what differs; chooseTcpTransport falls back to net.Socket by default and refuses an
// explicit `handle` with that reason.
import { describe, expect, test } from 'vitest';
import { chooseTcpTransport, detectTcpHandles, type BindingLoader } from '../../../host/listener/tcp/tcp-handle-binding.js';

const real: BindingLoader = (name) => (process as unknown as { binding(n: string): unknown }).binding(name);

/** Node's bindings with `change` applied to a shallow copy of the named one. */
function altered(which: string, change: (b: Record<string, unknown>) => void): BindingLoader {
  return (name) => {
    const b = real(name) as Record<string, unknown>;
    if (name !== which) return b;
    const copy = { ...b };
    change(copy);
    return copy;
  };
}

/** A TCP constructor whose prototype lacks `method`. */
function tcpWithout(method: string): unknown {
  const T = (real('tcp_wrap') as { TCP: { prototype: object } }).TCP;
  function Fake(): void {}
  const proto: Record<string, unknown> = {};
  // Descriptors, not values: some are accessors that throw off a real handle.
  for (let p: object | null = T.prototype; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) if (!(k in proto) && k !== 'constructor') Object.defineProperty(proto, k, Object.getOwnPropertyDescriptor(p, k)!);
  }
  delete proto[method];
  Fake.prototype = proto;
  return Fake;
}

describe('detectTcpHandles', () => {
  test('Node\'s own bindings pass, and a handle made from them reads its socket name', () => {
    const d = detectTcpHandles();
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const h = d.binding.newServerHandle();
    expect(h.bind('127.0.0.1', 0)).toBe(0);
    const out: { port?: number } = {};
    expect(h.getsockname(out)).toBe(0);
    expect(out.port).toBeGreaterThan(0);
    h.close();
    expect(d.binding.UV_EOF).toBeLessThan(0);
  });

  test.each([
    ['a handle method missing', altered('tcp_wrap', (b) => (b['TCP'] = tcpWithout('useUserBuffer'))), 'TCP.prototype.useUserBuffer is not a function'],
    ['writeBuffer missing', altered('tcp_wrap', (b) => (b['TCP'] = tcpWithout('writeBuffer'))), 'TCP.prototype.writeBuffer is not a function'],
    ['no TCPConnectWrap', altered('tcp_wrap', (b) => delete b['TCPConnectWrap']), 'tcp_wrap.TCPConnectWrap is not a constructor'],
    ['no WriteWrap', altered('stream_wrap', (b) => delete b['WriteWrap']), 'stream_wrap.WriteWrap is not a constructor'],
    ['constants renamed', altered('tcp_wrap', (b) => (b['constants'] = { SOCK: 0, SERVER: 1 })), 'tcp_wrap.constants.SOCKET / SERVER are not numbers'],
    ['streamBaseState of another type', altered('stream_wrap', (b) => (b['streamBaseState'] = new Float64Array(8))), 'stream_wrap.streamBaseState is not an Int32Array'],
    ['a state index out of range', altered('stream_wrap', (b) => (b['kReadBytesOrError'] = 1000)), 'kReadBytesOrError / kLastWriteWasAsync are not indices'],
    ['UV_EOF gone', altered('uv', (b) => delete b['UV_EOF']), 'uv.UV_EOF is not a negative number'],
  ])('%s: refused, saying what differs', (_what, load, reason) => {
    const d = detectTcpHandles(load);
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.reason).toContain('Node\'s internal TCP binding changed');
    expect(d.reason).toContain(reason);
  });

  test('process.binding throwing (a Node that removed it): refused with its message', () => {
    const d = detectTcpHandles(() => {
      throw new Error('No such binding: tcp_wrap');
    });
    expect(d).toEqual({ ok: false, reason: 'process.binding failed: No such binding: tcp_wrap' });
  });
});

describe('chooseTcpTransport', () => {
  const broken = altered('tcp_wrap', (b) => (b['TCP'] = tcpWithout('reset')));

  test('default: handle when the check passes', () => {
    const c = chooseTcpTransport(undefined);
    expect(c.kind).toBe('handle');
    expect(c.binding).not.toBeNull();
    expect(c.refused).toBeNull();
  });

  test('default with a binding that fails the check: net.Socket, and why', () => {
    const c = chooseTcpTransport(undefined, broken);
    expect(c).toEqual({ kind: 'socket', binding: null, refused: 'Node\'s internal TCP binding changed: TCP.prototype.reset is not a function' });
  });

  test('socket asked for: net.Socket, the bindings not even looked up', () => {
    let looked = false;
    const c = chooseTcpTransport('socket', (n) => {
      looked = true;
      return real(n);
    });
    expect(c).toEqual({ kind: 'socket', binding: null, refused: null });
    expect(looked).toBe(false);
  });

  test('handle asked for and refused: an error naming the flag and the reason', () => {
    expect(() => chooseTcpTransport('handle', broken)).toThrow('--tcp-transport=handle: refused: Node\'s internal TCP binding changed: TCP.prototype.reset is not a function');
  });
});
