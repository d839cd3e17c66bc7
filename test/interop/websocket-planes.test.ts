// WebSocket through each data plane from the same Istio YAML: `wasmesh proxy` tunnels the upgrade
// (host/http/upgrade-tunnel.ts) and stock Envoy does it because the bootstrap `wasmesh
// envoy-config` writes sets upgrade_configs websocket on its HCM, as Istio does. A real `ws`
// client and server; a message each way, then the server's close code reaches the client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { dataPlanes, type RunningProxy } from './data-planes.js';
import type { Scenario } from './scenarios.js';
import { webServices } from '../helpers/seed-000-yaml.js';

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
  - route:
    - destination: {host: web, port: {number: 5005}}
`;

let wss: WebSocketServer;
let wsPort = 0;
beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wsPort = (wss.address() as AddressInfo).port;
  wss.on('connection', (s) => s.on('message', (m, binary) => (String(m) === 'bye' ? s.close(4001, 'done') : s.send(binary ? m : `echo ${String(m)}`))));
});
afterAll(async () => {
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
        files: () => ({ '00-services.yaml': webServices({ v1: wsPort }), '02-gateway.yaml': GATEWAY }),
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
  });
}
