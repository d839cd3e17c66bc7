// `wasmesh demo istio101` and `wasmesh demo bookinfo` as real processes on free ports: each
// starts its apps, the control plane, sidecars and gateway programmed by it over xDS (the
// printed `wasmesh proxy-status` lists every one SYNCED), prints what to curl, answers those
// curls as the seed describes, and Ctrl-C (SIGINT) stops everything and frees every port.
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';
import { closeClient, get } from '../helpers/scenario-client.js';
import { metric, proxyStatus, controlPlaneIn } from '../helpers/demo-proxy-status.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/**
 * Every 127.0.0.1 port the printout names (apps, sidecars, their admins, gateway, admin, control
 * plane), not the dashboard guide's: Prometheus and the dashboard are for the user to start.
 */
function portsIn(printout: string): number[] {
  const text = printout.replace(/^Live service graph[\s\S]*?^and open \S+$/m, '');
  return [...new Set([...text.matchAll(/(?:http:\/\/|xDS )127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])))];
}

/** proxy-status lists exactly these proxies (node ids), each SYNCED on wasmesh's type, at `version`. */
async function expectSynced(out: string, pods: string[], version = '1'): Promise<void> {
  const rows = await proxyStatus(out);
  const id = (pod: string) => `${pod === 'istio-ingressgateway' ? 'router' : 'sidecar'}~127.0.0.1~${pod}.default~default.svc.cluster.local`;
  expect(rows.map((r) => r.name)).toEqual(pods.map(id).sort());
  for (const r of rows) expect(r, r.name).toMatchObject({ cluster: 'Kubernetes', states: { CDS: 'NOT SENT', WASMESH: 'SYNCED' }, version });
  expect(await metric(controlPlaneIn(out).monitoring, 'pilot_xds')).toBe(pods.length);
}

async function startDemo(scenario: string, extra: string[] = []): Promise<WasmeshProcess> {
  const demo = new WasmeshProcess(['demo', scenario, '--port', '0', '--admin', '127.0.0.1:0', '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0', '--app-ports', '0', '--no-access-log', ...extra]);
  await demo.waitFor(/Press Ctrl-C to stop/, 'stdout');
  return demo;
}

async function stopAndCheck(demo: WasmeshProcess): Promise<void> {
  const ports = portsIn(demo.stdout);
  const runDir = demo.stdout.match(/config folder +(\S+)/)![1];
  expect(existsSync(runDir)).toBe(true);
  expect(await demo.stop('SIGINT')).toEqual({ code: 0, signal: null });
  expect(demo.stderr).toMatch(/demo stopped/);
  for (const p of ports) expect(await refused(p), `port ${p}`).toBe(true);
  expect(existsSync(runDir)).toBe(false);
}

beforeAll(async () => {
  await ensureBuilt();
}, 300_000);

describe('wasmesh demo <scenario> (process)', () => {
  it('istio101: the chain, the canary for x-dev-user: super-secret, and a clean stop', async () => {
    const demo = await startDemo('istio101');
    try {
      const out = demo.stdout;
      const gw = out.match(/curl -s (http:\/\/127\.0\.0\.1:\d+\/)\n/)![1];
      expect(out).toContain(`curl -s -H 'x-dev-user: super-secret' ${gw}`);
      expect(out).toContain("-H 'fail: 0.3'");
      expect(out).toMatch(/cp \S+variants\/03-retry-on-5xx\.yaml \S+\//);
      expect(portsIn(out)).toHaveLength(4 + 3 * 2 + 2 + 2); // apps, 3 sidecars and their admins, gateway, admin, control plane xDS and monitoring
      await expectSynced(out, ['istio-ingressgateway', 'frontend-prod', 'middleware-prod', 'middleware-canary']);
      // The seed's ISTIO_MUTUAL runs unenforced (the control plane computes the views with
      // --allow-unenforced-security), and says so: in the guide, and once per rule (the four
      // proxies are given views of the same files: each distinct warning is printed once per version).
      expect(out).toContain("NOT ENFORCED: seed 003's DestinationRules ask for ISTIO_MUTUAL (mutual TLS), which needs workload identities");
      expect(out).toContain('`wasmesh demo istio101 --mtls` enforces it.');
      expect(demo.stderr.match(/NOT ENFORCED: tls mode ISTIO_MUTUAL/g)).toHaveLength(3);
      const plain = await (await fetch(gw)).text();
      expect(plain).toMatch(/^frontend-prod .*\nhttp:\/\/middleware\/ -> middleware-prod .*\nhttp:\/\/backend\/ -> backend-prod /);
      const canary = await (await fetch(gw, { headers: { 'x-dev-user': 'super-secret' } })).text();
      expect(canary).toMatch(/-> middleware-canary /);
      const failing = await fetch(gw, { headers: { fail: '1' } });
      expect(failing.status).toBe(500);
      await stopAndCheck(demo);
    } finally {
      if (demo.running) await demo.stop('SIGKILL');
    }
  });

  it('istio101 --mtls: every hop over mTLS naming its caller, plaintext refused, the SPIFFE certificate, no unenforced security, and a clean stop', async () => {
    const demo = await startDemo('istio101', ['--mtls', '--secure-listen', '127.0.0.1:0']);
    try {
      const out = demo.stdout;
      const gw = out.match(/curl -s (http:\/\/127\.0\.0\.1:\d+\/)\n/)![1];
      await expectSynced(out, ['istio-ingressgateway', 'frontend-prod', 'middleware-prod', 'middleware-canary', 'backend-prod']);
      expect(out).not.toContain('NOT ENFORCED');
      expect(demo.stderr).not.toMatch(/NOT ENFORCED|unenforced/i);
      const chain = await (await fetch(gw)).text();
      expect(chain).toMatch(/^frontend-prod - [\d.]+secs \(mTLS from spiffe:\/\/cluster\.local\/ns\/istio-system\/sa\/istio-ingressgateway-service-account\)\n/);
      expect(chain).toMatch(/-> backend-prod - [\d.]+secs \(mTLS from spiffe:\/\/cluster\.local\/ns\/default\/sa\/middleware\)\n$/);
      // The printed plaintext curl to the backend's inbound sidecar port: the connection is closed, no answer.
      const inbound = out.match(/curl -sv (http:\/\/127\.0\.0\.1:\d+)\//)![1];
      await expect(fetch(`${inbound}/`)).rejects.toThrow();
      // The printed proxy-config command, as a process.
      const admin = out.match(/npx wasmesh proxy-config secret (127\.0\.0\.1:\d+)/)![1];
      const secret = new WasmeshProcess(['proxy-config', 'secret', '-o', 'json', admin]);
      expect((await secret.exited).code).toBe(0);
      expect(JSON.parse(secret.stdout).certificates[0].cert_chain[0].subject_alt_names).toEqual([{ uri: 'spiffe://cluster.local/ns/default/sa/backend' }]);
      await stopAndCheck(demo);
    } finally {
      if (demo.running) await demo.stop('SIGKILL');
    }
  });

  it('bookinfo: productpage through the gateway, reviews v2 for jason on Chrome, and a clean stop', async () => {
    const demo = await startDemo('bookinfo');
    try {
      const out = demo.stdout;
      const page = out.match(/curl -s (http:\/\/127\.0\.0\.1:\d+\/productpage)\n/)![1];
      await expectSynced(out, ['istio-ingressgateway', 'productpage-v1', 'reviews-v2', 'reviews-v3']);
      const plain = (await (await fetch(page)).json()) as { reviews: { body: { version: string } } };
      expect(plain.reviews.body.version).toBe('v1');
      const ua = out.match(/-A '([^']+)'/)![1];
      const jason = (await (await fetch(page, { headers: { 'end-user': 'jason', 'user-agent': ua } })).json()) as { reviews: { body: { version: string } } };
      expect(jason.reviews.body.version).toBe('v2');
      // The printed sidecar curls, with their Host headers (fetch cannot set Host).
      const ratingsCall = out.match(/curl -s -H 'Host: (ratings:9080)' (http:\/\/127\.0\.0\.1:\d+\/ratings\/0)/)!;
      expect(JSON.parse((await get(ratingsCall[2], { host: ratingsCall[1] })).body)).toEqual({ service: 'ratings', version: 'v1' });
      const ppCall = out.match(/curl -s -H 'Host: (productpage:9080)' (http:\/\/127\.0\.0\.1:\d+\/productpage)/)!;
      expect((await get(ppCall[2], { host: ppCall[1] })).status).toBe(200);
      closeClient();
      const clustersUrl = out.match(/curl -s (http:\/\/127\.0\.0\.1:\d+)\/clusters/)![1];
      expect(await (await fetch(`${clustersUrl}/clusters`)).text()).toContain('outbound|9080|v1|ratings.default.svc.cluster.local');
      await stopAndCheck(demo);
    } finally {
      if (demo.running) await demo.stop('SIGKILL');
    }
  });

  it('--help lists the scenarios; an unknown scenario is a usage error', async () => {
    const help = new WasmeshProcess(['demo', '--help']);
    expect((await help.exited).code).toBe(0);
    expect(help.stdout).toMatch(/istio101 +seed 003/);
    expect(help.stdout).toMatch(/bookinfo +seed 002/);
    expect(help.stdout).toMatch(/protocols +examples\/005-protocols: gRPC/);
    expect(help.stdout).toMatch(/--redis-port <port>/);
    const bad = new WasmeshProcess(['demo', 'nope']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr).toContain('unknown scenario "nope" (known: istio101, bookinfo, protocols)');
  });
});
