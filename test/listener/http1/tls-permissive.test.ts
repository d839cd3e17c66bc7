// A PERMISSIVE listener over real loopback sockets: TLS (mutual) and plaintext served on one
// port, the first byte deciding; plaintext carries no identity and an XFCC it sends is dropped;
// a plaintext request split before its first line still goes through; a TLS client still has to
// present a mesh certificate; a connection that sends nothing is closed after the timeout.
import { describe, it, expect, afterEach } from 'vitest';
import { connect } from 'node:net';
import { leaf, spiffeId } from '../../helpers/test-certs.js';
import { exchange, HOST, waitFor } from './wire-harness.js';
import { startTlsRig, tlsRequest, upstreamField, type TlsRig } from './tls-rig.js';

let rig: TlsRig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

describe('PERMISSIVE on the HTTP/1.1 listener', () => {
  it('serves mutual TLS and plaintext on the same port', async () => {
    rig = await startTlsRig('permissive');
    const tls = await tlsRequest(rig.proxy.port, leaf({ ns: 'shop', sa: 'frontend' }));
    expect(tls.responses.map((r) => r.status)).toEqual([200]);
    expect(upstreamField(rig.upstream, 'x-forwarded-client-cert')).toContain(`URI=${spiffeId('shop', 'frontend')}`);
    expect(upstreamField(rig.upstream, 'x-forwarded-proto')).toBe('https');

    const plain = await exchange(rig.proxy.port, [`GET /plain HTTP/1.1\r\nHost: ${HOST}\r\nx-forwarded-client-cert: By=x;URI=spiffe://cluster.local/ns/x/sa/admin\r\n\r\n`], 1);
    expect(plain.responses.map((r) => r.status)).toEqual([200]);
    expect(rig.upstream.requests.length).toBe(2);
    // From an unauthenticated client the XFCC is not trusted: dropped, not forwarded.
    expect(upstreamField(rig.upstream, 'x-forwarded-client-cert')).toBeNull();
    expect(upstreamField(rig.upstream, 'x-forwarded-proto')).toBe('http');
    expect(rig.proxy.stats.downstream.get('ssl.handshake')).toBe(1);
    await waitFor(() => rig!.logs.length === 2, 2000, 'access log entries');
    expect(rig.logs.map((e) => [e.path, e.connectionSecurityPolicy, e.downstreamPeerUriSan])).toEqual([
      ['/hello', 'mutual_tls', spiffeId('shop', 'frontend')],
      ['/plain', 'none', undefined],
    ]);
  });

  it('plaintext keeps working across reads: a request sent a byte at first, then pipelined requests', async () => {
    rig = await startTlsRig('permissive');
    const req = `GET /a HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    const ex = await exchange(rig.proxy.port, ['G', { pause: 50 }, req.slice(1) + req + req], 3);
    expect(ex.responses.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('a TLS client on a PERMISSIVE port still needs a mesh certificate', async () => {
    rig = await startTlsRig('permissive');
    const none = await tlsRequest(rig.proxy.port, null);
    const foreign = await tlsRequest(rig.proxy.port, leaf({ foreign: true }));
    expect([none.responses, foreign.responses]).toEqual([[], []]);
    expect(rig.upstream.requests).toEqual([]);
    expect(rig.proxy.stats.downstream.get('ssl.fail_verify_no_cert')).toBe(1);
    expect(rig.proxy.stats.downstream.get('ssl.fail_verify_error')).toBe(1);
  });

  it('closes a connection that sends nothing within the timeout (downstream_pre_cx_timeout)', async () => {
    rig = await startTlsRig('permissive', { handshakeTimeoutMs: 200 });
    const s = connect(rig.proxy.port, '127.0.0.1');
    let closed = false;
    s.on('close', () => (closed = true));
    s.on('error', () => {});
    await waitFor(() => closed, 3000, 'silent connection closed');
    expect(rig.proxy.stats.downstream.get('downstream_pre_cx_timeout')).toBe(1);
  });
});
