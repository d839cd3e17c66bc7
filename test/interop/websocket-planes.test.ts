// WebSocket through each data plane from the same Istio YAML: `wasmesh proxy` tunnels the upgrade
// (host/http/upgrade-tunnel.ts) and stock Envoy does it because the bootstrap `wasmesh
// envoy-config` writes sets upgrade_configs websocket on its HCM, as Istio does. A real `ws`
// client and server; a message each way, then the server's close code reaches the client.
// WebSocket over HTTP/2 (RFC 8441) on both planes: an h2c client's extended CONNECT reaches the
// HTTP/1.1 ws server (Envoy: the HCM's http2_protocol_options.allow_connect), and an HTTP/1.1
// upgrade to an HTTP/2 service goes upstream as an extended CONNECT (Envoy: the cluster's
// http2_protocol_options.allow_connect).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { dataPlanes, type RunningProxy } from './data-planes.js';
import type { Scenario } from './scenarios.js';
import { webServices } from '../helpers/seed-000-yaml.js';
import { h2cSession, h2WebSocketUpstream, openH2WebSocket, type Closers } from '../helpers/h2-websocket.js';

const GATEWAY = `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: web-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [web-gateway]
  http:
  - match: [{uri: {prefix: /h2}}]
    route:
    - destination: {host: ws-h2, port: {number: 8080}}
  - route:
    - destination: {host: web, port: {number: 5005}}
`;

/** The HTTP/2 WebSocket service (port protocol HTTP2: an HTTP/2 upstream on both planes). */
const H2_SERVICE = (port: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ws-h2}
spec:
  hosts: [ws-h2]
  ports: [{number: 8080, name: http2-ws, protocol: HTTP2, targetPort: ${port}}]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`;

let wss: WebSocketServer;
let wsPort = 0;
const closers: Closers = [];
let h2Up: Awaited<ReturnType<typeof h2WebSocketUpstream>>;
beforeAll(async () => {
  // As a proxy hop in front of an HTTP/1.1 ws server answers: with the accept of the client's key
  // (Envoy passes the upstream's; wasmesh also computes one when a native RFC 8441 server sends none).
  h2Up = await h2WebSocketUpstream({ connect: true, acceptFromKey: true }, closers);
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wsPort = (wss.address() as AddressInfo).port;
  wss.on('connection', (s) => s.on('message', (m, binary) => (String(m) === 'bye' ? s.close(4001, 'done') : s.send(binary ? m : `echo ${String(m)}`))));
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()));
});

for (const plane of dataPlanes()) {
  if (plane.name === 'envoy+filters') continue; // same HCM as `envoy`; the filters do not see tunnels
  describe.skipIf(plane.unavailable !== null)(`WebSocket on ${plane.name}`, () => {
    let proxy: RunningProxy | undefined;
    beforeAll(async () => {
      const scenario: Scenario = {
        name: 'websocket',
        gateway: 'web-gateway',
        files: () => ({ '00-services.yaml': webServices({ v1: wsPort }), '01-ws-h2.yaml': H2_SERVICE(h2Up.port), '02-gateway.yaml': GATEWAY }),
        exchanges: [],
      };
      proxy = await plane.start(scenario, { v1: wsPort, v2: wsPort } );
    });
    afterAll(async () => { await proxy?.stop(); });

    it('upgrades, echoes text both ways, and passes the server close code on', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${proxy!.port}/chat`);
      const got: string[] = [];
      const closed = new Promise<number>((resolve, reject) => {
        ws.on('message', (m) => {
          got.push(String(m));
          if (got.length === 2) ws.send('bye');
        });
        ws.on('close', (code) => resolve(code));
        ws.on('error', reject);
      });
      await new Promise<void>((r, j) => { ws.once('open', () => r()); ws.once('error', j); });
      ws.send('one');
      ws.send('two');
      expect(await closed).toBe(4001);
      expect(got).toEqual(['echo one', 'echo two']);
    });

    it('RFC 8441: an h2c client\'s extended CONNECT becomes the HTTP/1.1 upgrade: echo, then the server\'s close code', async () => {
      const session = await h2cSession(proxy!.port, closers);
      expect(session.remoteSettings.enableConnectProtocol).toBe(true);
      const ws = await openH2WebSocket(session, '/chat', true, 'web');
      expect(ws.status).toBe(200);
      ws.send('over h2');
      await until(() => ws.messages.length === 1);
      expect(ws.messages[0]!.data.toString()).toBe('echo over h2');
      ws.send('bye');
      await until(() => ws.closeCode !== null);
      expect(ws.closeCode).toBe(4001);
    });

    it('RFC 8441 upstream: an HTTP/1.1 upgrade to an HTTP/2 service goes as CONNECT :protocol websocket', async () => {
      const before = h2Up.seen.length;
      const ws = new WebSocket(`ws://127.0.0.1:${proxy!.port}/h2/chat`);
      closers.push(() => ws.terminate());
      await new Promise<void>((r, j) => { ws.once('open', () => r()); ws.once('error', j); ws.once('unexpected-response', (_q, res) => j(new Error(`status ${res.statusCode}`))); });
      expect(h2Up.seen.slice(before)).toEqual([expect.objectContaining({ method: 'CONNECT', protocol: 'websocket', path: '/h2/chat' })]);
      const got = new Promise<string>((r) => ws.once('message', (m) => r(String(m))));
      ws.send('to h2');
      expect(await got).toBe('to h2');
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.close(4002);
      expect(await closed).toBe(4002);
    });
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
