// The mTLS mode's guard against benchmarking plaintext: checkMtls refuses a "pair" that is not
// one (no XFCC at the app; an inbound port that serves plaintext), with the fact that failed.
// A real pair (both contenders) passes it in e2e-mtls-smoke.test.ts.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMtls, MtlsCheckError } from '../../../bench/e2e/mtls-check.js';
import { issuePairCertificates, type PairCertificates } from '../../../bench/e2e/mtls-pair.js';

/** A plaintext HTTP server standing in for a pair: answers 200, echoing `xfcc` as the upstream would. */
async function plaintext(xfcc: string | null): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (xfcc !== null && req.headers['x-bench-echo-xfcc']) res.setHeader('x-bench-xfcc', xfcc);
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

describe('checkMtls refuses what is not an mTLS pair', () => {
  let dir = '';
  let certs: PairCertificates;
  const servers: Server[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-mtls-check-'));
    certs = await issuePairCertificates(dir);
  });
  afterAll(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no XFCC naming the client at the app: the hop is not mTLS', async () => {
    const p = await plaintext(null);
    servers.push(p.server);
    const check = checkMtls(`http://127.0.0.1:${p.port}/`, { host: '127.0.0.1', port: p.port, pid: process.pid }, certs);
    await expect(check).rejects.toBeInstanceOf(MtlsCheckError);
    await expect(check).rejects.toThrow(/no XFCC naming spiffe:\/\/cluster\.local\/ns\/default\/sa\/bench-client/);
  });

  it('an inbound port that answers plaintext: not STRICT, even with the right XFCC', async () => {
    const p = await plaintext(`By=${certs.appId};URI=${certs.clientId}`);
    servers.push(p.server);
    await expect(checkMtls(`http://127.0.0.1:${p.port}/`, { host: '127.0.0.1', port: p.port, pid: process.pid }, certs))
      .rejects.toThrow(/plaintext HTTP to the inbound sidecar reached the app \(HTTP 200\): not STRICT/);
  });
});
