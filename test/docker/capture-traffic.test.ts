// Real packets through the rules docker/iptables-init.sh installs: in a throwaway pod namespace,
// the app's outbound connections land on the proxy's 15001, the proxy's own (uid 1337) do not,
// inbound connections to the app port land on 15006, and the sidecar's health port is left alone.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { fileURLToPath } from 'node:url';
import { PodNetwork, netnsUnavailableReason, POD_ADDR, PEER_ADDR } from '../helpers/netns.js';

const SCRIPT = fileURLToPath(new URL('../../docker/iptables-init.sh', import.meta.url));
const ECHO = fileURLToPath(new URL('./fixtures/port-echo.mjs', import.meta.url));
const DIAL = fileURLToPath(new URL('./fixtures/dial.mjs', import.meta.url));
const SEED_ARGS = ['-p', '15001', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '5005', '-d', ''];

const reason = netnsUnavailableReason();
if (reason) console.warn(`[sidecar] skipping capture traffic tests: ${reason}`);

describe.skipIf(reason !== null)('traffic capture in a pod namespace', () => {
  const net = new PodNetwork();
  /** Dials host:port from a namespace (as root unless uid given); returns what answered. */
  const dial = (ns: string, host: string, port: number, uid?: number) =>
    net.exec(ns, [process.execPath, DIAL, host, String(port)], { uid }).stdout.trim();
  const fromApp = (port = 80) => dial(net.pod, PEER_ADDR, port);
  const fromProxyUid = (port = 80) => dial(net.pod, PEER_ADDR, port, 1337);
  const fromPeer = (port: number) => dial(net.peer, POD_ADDR, port);
  const applyRules = (args: string[]) => net.exec(net.pod, ['bash', SCRIPT, ...args]);

  beforeAll(async () => {
    net.create();
    // In the pod: the "proxy" (capture ports + health port) and the "app" (5005 and 8081).
    await net.start(net.pod, [process.execPath, ECHO,
      'proxy@0.0.0.0:15001', 'proxy@0.0.0.0:15006', 'proxy@0.0.0.0:15021',
      'app@0.0.0.0:5005', 'app@0.0.0.0:8081']);
    // In the peer: another service on port 80 (and 81, for the -o exclusion).
    await net.start(net.peer, [process.execPath, ECHO, `peer@${PEER_ADDR}:80`, `peer@${PEER_ADDR}:81`]);
  });
  afterAll(() => net.destroy());

  it('without rules, every connection reaches the address it dialled (control)', () => {
    expect(fromApp()).toBe('peer:80');
    expect(fromPeer(5005)).toBe('app:5005');
  });

  describe('with the seed arguments (-p 15001 -u 1337 -m REDIRECT -i * -b 5005)', () => {
    beforeAll(() => { applyRules(SEED_ARGS); });

    it("redirects the app's outbound connection to the outbound capture port 15001", () => {
      expect(fromApp(80)).toBe('proxy:15001');
      expect(fromApp(81)).toBe('proxy:15001');
    });

    it('does not redirect connections made by the proxy uid 1337', () => {
      expect(fromProxyUid(80)).toBe('peer:80');
    });

    it('redirects inbound connections to the app port 5005 to the inbound capture port 15006', () => {
      expect(fromPeer(5005)).toBe('proxy:15006');
    });

    it('leaves inbound ports outside -b alone, and never captures the health port 15021', () => {
      expect(fromPeer(8081)).toBe('app:8081');
      expect(fromPeer(15021)).toBe('proxy:15021');
    });

    it('leaves loopback traffic inside the pod alone', () => {
      expect(dial(net.pod, '127.0.0.1', 5005)).toBe('app:5005');
    });

    it('keeps capturing the same way after a second run (idempotent in effect too)', () => {
      applyRules(SEED_ARGS);
      expect(fromApp()).toBe('proxy:15001');
      expect(fromProxyUid()).toBe('peer:80');
      expect(fromPeer(5005)).toBe('proxy:15006');
    });
  });

  describe("with -b '*' and exclusions", () => {
    beforeAll(() => { applyRules(['-b', '*', '-d', '8081', '-o', '81']); });

    it('captures every inbound port but the sidecar ports and -d', () => {
      expect(fromPeer(5005)).toBe('proxy:15006');
      expect(fromPeer(8081)).toBe('app:8081');
      expect(fromPeer(15021)).toBe('proxy:15021');
      expect(fromPeer(15001)).toBe('proxy:15001');
    });

    it('does not capture outbound ports excluded with -o', () => {
      expect(fromApp(81)).toBe('peer:81');
      expect(fromApp(80)).toBe('proxy:15001');
    });
  });

  it('does not capture outbound ranges excluded with -x, nor ranges outside -i', () => {
    applyRules(['-x', `${PEER_ADDR}/32`]);
    expect(fromApp()).toBe('peer:80');
    applyRules(['-i', '198.51.100.0/24']);
    expect(fromApp()).toBe('peer:80');
    applyRules(['-i', '192.0.2.0/24']);
    expect(fromApp()).toBe('proxy:15001');
  });

  it('after --cleanup, connections go where they were dialled again', () => {
    applyRules(['--cleanup']);
    expect(fromApp()).toBe('peer:80');
    expect(fromPeer(5005)).toBe('app:5005');
  });
});
