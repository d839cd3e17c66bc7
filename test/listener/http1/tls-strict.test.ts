// A listener under STRICT mutual TLS over real loopback sockets: a mesh client certificate is
// served, its SPIFFE ID reaches the upstream in x-forwarded-client-cert (as Istio writes it) and
// the stream; no certificate, a foreign CA's, an expired one, and plaintext are refused before
// any byte reaches the upstream, each counted by reason and logged. `openssl s_client` shows the
// chain and the SPIFFE SAN, and `openssl verify` accepts the served certificate with the root.
import { describe, it, expect, afterEach } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certDir, leaf, meshRoot, spiffeId } from '../../helpers/test-certs.js';
import { exchange, HOST, waitFor } from './wire-harness.js';
import { startTlsRig, tlsRequest, upstreamField, type TlsRig } from './tls-rig.js';

let rig: TlsRig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

const sha256 = (pem: Buffer): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

describe('STRICT mutual TLS on the HTTP/1.1 listener', () => {
  it('serves a mesh client certificate: 200, XFCC By/Hash/Subject/URI upstream, https, counted', async () => {
    rig = await startTlsRig('tls');
    const client = leaf({ ns: 'shop', sa: 'frontend', dns: [] });
    const out = await tlsRequest(rig.proxy.port, client, 'x-forwarded-client-cert: By=spiffe://forged;URI=spiffe://cluster.local/ns/x/sa/admin\r\n');
    expect(out.error).toBeNull();
    expect(out.responses.map((r) => r.status)).toEqual([200]);
    expect(out.socket.alpnProtocol).toBe(false);
    // APPEND_FORWARD over mutual TLS: what came in is kept, the proxy's element appended.
    expect(upstreamField(rig.upstream, 'x-forwarded-client-cert')).toBe(
      `By=spiffe://forged;URI=spiffe://cluster.local/ns/x/sa/admin,By=${spiffeId('mesh', 'inbound')};Hash=${sha256(client.certPem)};Subject="";URI=${spiffeId('shop', 'frontend')}`);
    expect(upstreamField(rig.upstream, 'x-forwarded-proto')).toBe('https');
    expect(rig.proxy.stats.downstream.get('ssl.handshake')).toBe(1);
    await waitFor(() => rig!.logs.length === 1, 2000, 'access log entry');
    expect(rig.logs[0]).toMatchObject({ code: 200, connectionSecurityPolicy: 'mutual_tls', downstreamPeerUriSan: spiffeId('shop', 'frontend') });
  });

  it('exposes the connection security on the stream (mutual TLS, SPIFFE ID, version, ALPN)', async () => {
    rig = await startTlsRig('tls');
    const seen: unknown[] = [];
    const { Http1Downstream } = await import('../../../host/listener/http1/http1-downstream.js');
    const original = Http1Downstream.prototype.attach;
    Http1Downstream.prototype.attach = function (this: InstanceType<typeof Http1Downstream>, ...a: Parameters<typeof original>) {
      seen.push(this.security);
      return original.apply(this, a);
    };
    try {
      const client = leaf({ ns: 'shop', sa: 'frontend' });
      await tlsRequest(rig.proxy.port, client);
    } finally {
      Http1Downstream.prototype.attach = original;
    }
    expect(seen).toEqual([expect.objectContaining({ mutualTls: true, tls: true, peerSpiffeId: spiffeId('shop', 'frontend'), tlsVersion: 'TLSv1.3', sni: 'localhost' })]);
  });

  it('refuses a client without a certificate: nothing upstream, ssl.fail_verify_no_cert, logged', async () => {
    rig = await startTlsRig('tls');
    const out = await tlsRequest(rig.proxy.port, null);
    expect(out.responses).toEqual([]);
    expect(rig.upstream.requests).toEqual([]);
    expect(rig.proxy.stats.downstream.get('ssl.fail_verify_no_cert')).toBe(1);
    expect(rig.proxy.stats.downstream.get('ssl.handshake')).toBe(0);
    expect(rig.oplog.join('\n')).toMatch(/handshake from 127\.0\.0\.1 failed: ssl\.fail_verify_no_cert: client certificate required/);
  });

  it('refuses a certificate from a foreign CA, and an expired one: ssl.fail_verify_error with the reason', async () => {
    rig = await startTlsRig('tls');
    const foreign = await tlsRequest(rig.proxy.port, leaf({ ns: 'shop', sa: 'frontend', foreign: true }));
    const expired = await tlsRequest(rig.proxy.port, leaf({ ns: 'shop', sa: 'old', expired: true }));
    expect([foreign.responses, expired.responses]).toEqual([[], []]);
    expect(rig.upstream.requests).toEqual([]);
    expect(rig.proxy.stats.downstream.get('ssl.fail_verify_error')).toBe(2);
    expect(rig.oplog[0]).toContain(`${spiffeId('shop', 'frontend')} rejected: UNABLE_TO_VERIFY_LEAF_SIGNATURE`);
    expect(rig.oplog[1]).toContain(`${spiffeId('shop', 'old')} rejected: CERT_HAS_EXPIRED`);
  });

  it('refuses plaintext: no HTTP answer, nothing upstream, ssl.connection_error', async () => {
    rig = await startTlsRig('tls');
    const ex = await exchange(rig.proxy.port, [`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], 0, { quietMs: 300, maxMs: 3000 });
    expect(ex.responses).toEqual([]);
    expect(ex.raw.startsWith('HTTP/')).toBe(false);
    expect(rig.upstream.requests).toEqual([]);
    expect(rig.proxy.stats.downstream.get('ssl.connection_error')).toBe(1);
    expect(rig.oplog.join('\n')).toMatch(/ssl\.connection_error: .*(http request|wrong version|packet length)/i);
  });

  it('serves TLS 1.2 by default and refuses it under minProtocolVersion TLSv1.3 (ssl.connection_error)', async () => {
    rig = await startTlsRig('tls');
    const client = leaf({ ns: 'shop', sa: 'frontend' });
    const v12 = await tlsRequest(rig.proxy.port, client, '', { maxVersion: 'TLSv1.2' });
    expect(v12.responses.map((r) => r.status)).toEqual([200]);
    await rig.close();
    rig = await startTlsRig('tls', { minProtocolVersion: 'TLSv1.3' });
    const refused = await tlsRequest(rig.proxy.port, client, '', { maxVersion: 'TLSv1.2' });
    expect(refused.secure).toBe(false);
    expect(refused.responses).toEqual([]);
    expect(rig.proxy.stats.downstream.get('ssl.connection_error')).toBe(1);
    expect(rig.oplog.join('\n')).toMatch(/ssl\.connection_error: .*(version|protocol)/i);
  });

  it('resumes a session on a later connection (ssl.session_reused)', async () => {
    rig = await startTlsRig('tls');
    const client = leaf({ ns: 'shop', sa: 'frontend' });
    const first = await tlsRequest(rig.proxy.port, client);
    expect(first.reused).toBe(false);
    expect(first.session).toBeDefined();
    const second = await tlsRequest(rig.proxy.port, client, '', { session: first.session });
    expect(second.responses.map((r) => r.status)).toEqual([200]);
    expect(second.reused).toBe(true);
    expect(rig.proxy.stats.downstream.get('ssl.session_reused')).toBe(1);
  });

  it('openssl s_client shows the chain and the SPIFFE SAN', async () => {
    rig = await startTlsRig('tls');
    const client = leaf({ ns: 'shop', sa: 'frontend' });
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${rig!.proxy.port}`, '-servername', 'localhost', '-CAfile', meshRoot().cert,
        '-cert', client.cert, '-key', client.key, '-showcerts', '-verify_return_error'], { timeout: 10_000 }, (err, stdout) => {
        if (err && !stdout) reject(err);
        else resolve(stdout);
      });
      child.stdin!.end('Q\n');
    });
    expect(out).toMatch(/Verify return code: 0 \(ok\)/);
    expect(out).toContain('i:O = mesh, CN = mesh root');
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)![0];
    expect(new X509Certificate(pem).subjectAltName).toContain(`URI:${spiffeId('mesh', 'inbound')}`);
    // openssl verify accepts the served certificate with the mesh root.
    const served = join(certDir(), 'served-by-listener.pem');
    writeFileSync(served, pem + '\n');
    const verified = await new Promise<string>((resolve) => execFile('openssl', ['verify', '-CAfile', meshRoot().cert, served], { timeout: 10_000 }, (_e, out) => resolve(out)));
    expect(verified.trim()).toBe(`${served}: OK`);
  });
});
