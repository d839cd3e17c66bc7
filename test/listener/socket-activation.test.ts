// The socket-activation reader: which descriptors the launcher passed, by name, and the clear
// errors for descriptors meant for another process or named otherwise than expected.
import { describe, it, expect } from 'vitest';
import { activatedSockets, SocketActivationError } from '../../host/listener/socket-activation.js';

const KNOWN = ['outbound', 'inbound'];

describe('activatedSockets', () => {
  it('is empty without LISTEN_FDS (the proxy binds its ports itself)', () => {
    expect(activatedSockets({}, 42, KNOWN).size).toBe(0);
    expect(activatedSockets({ LISTEN_FDS: '' }, 42, KNOWN).size).toBe(0);
  });

  it('maps names to descriptors from 3 on, in order', () => {
    const got = activatedSockets({ LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'inbound:outbound' }, 42, KNOWN);
    expect([...got]).toEqual([['inbound', 3], ['outbound', 4]]);
  });

  it('refuses descriptors meant for another process (LISTEN_PID), naming both pids', () => {
    expect(() => activatedSockets({ LISTEN_FDS: '1', LISTEN_PID: '41', LISTEN_FDNAMES: 'outbound' }, 42, KNOWN))
      .toThrow(/LISTEN_PID=41 is not this process \(42\).*\(SOCKET_ACTIVATION\)/);
    expect(() => activatedSockets({ LISTEN_FDS: '1', LISTEN_FDNAMES: 'outbound' }, 42, KNOWN)).toThrow(/LISTEN_PID=null is not a pid/);
  });

  it('refuses a count that is not one, and names that do not match it', () => {
    expect(() => activatedSockets({ LISTEN_FDS: 'two', LISTEN_PID: '42' }, 42, KNOWN)).toThrow(/LISTEN_FDS="two" is not a count/);
    expect(() => activatedSockets({ LISTEN_FDS: '0', LISTEN_PID: '42' }, 42, KNOWN)).toThrow(SocketActivationError);
    expect(() => activatedSockets({ LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'outbound' }, 42, KNOWN)).toThrow(/names 1 descriptor\(s\), LISTEN_FDS=2/);
    expect(() => activatedSockets({ LISTEN_FDS: '1', LISTEN_PID: '42' }, 42, KNOWN)).toThrow(/LISTEN_FDNAMES is not set/);
  });

  it('refuses an unknown or repeated name, saying which descriptor and which names are known', () => {
    expect(() => activatedSockets({ LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'outbound:admin' }, 42, KNOWN))
      .toThrow(/descriptor 4 is named "admin"; known names: 'outbound', 'inbound'/);
    expect(() => activatedSockets({ LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'outbound:outbound' }, 42, KNOWN))
      .toThrow(/given to descriptors 3 and 4/);
  });
});
