// What `wasmesh demo protocols` prints once running: where each app and the gateway listen, and
// the commands that try each protocol through the gateway — the repo's gRPC and WebSocket
// clients (examples/005-protocols) and redis-cli — then where the gateway's metrics show them.
// The demo's test runs these lines as printed, so what they promise is what it checks.
import { join } from 'node:path';
import { controlPlaneLines } from './demo-control-plane.js';
import { CHAT_PATH } from './apps/chat-app.js';
import { GATEWAY_REDIS_PORT, PROTOCOLS_FILES, type RunningProtocols } from './protocols-demo.js';

/** `exampleDir`: the example folder as the printed commands name it; `redisCli`: whether redis-cli is installed. */
export function protocolsGuide(run: RunningProtocols, exampleDir: string, redisCli: boolean): string[] {
  const width = 'control plane'.length + 2;
  const row = (name: string, text: string): string => `  ${name.padEnd(width)}${text}`;
  const grpcClient = `node ${join(exampleDir, PROTOCOLS_FILES.grpcClient)} ${run.gatewayAddress}`;
  const wsClient = `node ${join(exampleDir, PROTOCOLS_FILES.wsClient)} ws://${run.gatewayAddress}${CHAT_PATH}`;
  const admin = `http://${run.adminAddress}`;
  const redisHost = run.redisAddress?.slice(0, run.redisAddress.lastIndexOf(':'));
  const redisPort = run.redisAddress?.slice(run.redisAddress.lastIndexOf(':') + 1);
  const cli = redisHost === '127.0.0.1' ? `redis-cli -p ${redisPort}` : `redis-cli -h ${redisHost} -p ${redisPort}`;
  return [
    '',
    'wasmesh demo protocols: gRPC, WebSocket and Redis through one ingress gateway, on loopback.',
    '',
    ...run.greeters.map((g) => row(`greeter-${g.version}`, `127.0.0.1:${g.port}   gRPC demo.Greeter (${PROTOCOLS_FILES.proto}), answers "Hello <name> from greeter ${g.version}"`)),
    row('chat-v1', `ws://127.0.0.1:${run.chat.port}${CHAT_PATH}   WebSocket: a greeting, then an echo of each message`),
    row('redis', run.redis ? `127.0.0.1:${run.redis.port}   Debian's redis-server` : 'not started: redis-server is not installed (Debian: apt-get install redis-server redis-tools)'),
    row('gateway', `http://${run.gatewayAddress}/   HTTP/1.1 and h2c, Gateway protocols-gateway port 80: /demo.Greeter/ → greeter 80% v1 / 20% v2, ${CHAT_PATH} → chat`),
    ...(run.redisAddress ? [row('', `${run.redisAddress}   Gateway port ${GATEWAY_REDIS_PORT} (REDIS), a tcp: route → redis:6379`)] : []),
    row('admin', `${admin}/   (/ready /config_dump /stats /clusters)`),
    row('metrics', `${admin}/stats/prometheus`),
    ...controlPlaneLines(run.controlPlane, width).where,
    row('config folder', `${run.runDir}   (watched by the control plane: changes are pushed live${run.ownDir ? '; removed on exit' : ''})`),
    '',
    'gRPC through the gateway (h2c in, HTTP/2 to the greeter): a unary call, then a server stream:',
    `  ${grpcClient} hello alice`,
    `  ${grpcClient} stream alice 3`,
    'Count which version answers 100 calls (the VirtualService\'s 80/20 split):',
    `  ${grpcClient} hello alice --repeat 100 | sort | uniq -c`,
    'Send every call to v2, live (the control plane pushes the change to the gateway), and back to 80/20:',
    `  cp ${join(exampleDir, PROTOCOLS_FILES.routesV2)} ${join(run.runDir, PROTOCOLS_FILES.routes)}`,
    `  cp ${join(exampleDir, PROTOCOLS_FILES.routes)} ${join(run.runDir, PROTOCOLS_FILES.routes)}`,
    '',
    'A WebSocket session through the gateway (the HTTP/1.1 upgrade; messages both ways):',
    `  ${wsClient} hello world`,
    '',
    ...(run.redisAddress
      ? [
          'Redis through the gateway\'s TCP port (a byte proxy; redis-cli from Debian\'s redis-tools):',
          `  ${cli} set greeting hello`,
          `  ${cli} get greeting`,
          ...(redisCli ? [] : ['(redis-cli is not installed: apt-get install redis-tools)']),
          '',
        ]
      : ['Redis: not running (redis-server is not installed; apt-get install redis-server redis-tools, then start the demo again).', '']),
    'What the gateway counted: gRPC requests (request_protocol="grpc", grpc_response_status), the WebSocket',
    'upgrades, and Redis connections (istio_tcp_*, added when a connection closes):',
    `  curl -s ${admin}/stats/prometheus | grep -E '^istio_requests_total|^istio_tcp_connections_closed_total|^envoy_downstream_cx_upgrades_total'`,
    '',
    ...controlPlaneLines(run.controlPlane, 0).tryIt,
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
}
