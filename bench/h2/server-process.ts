// The child process run.ts forks for one contender ('core', 'node', 'listener-core' or
// 'listener-node'): starts the server,
// reports its port, and answers 'start'/'stop' with CPU time (process.cpuUsage) and requests
// answered between the two, so CPU per request counts the server process alone.
import { startCoreH2cServer } from './core-h2c-server.js';
import { startNodeH2cServer } from './node-h2c-server.js';
import { startListenerH2cServer } from './listener-h2c-server.js';

const kind = process.argv[2];
if (kind !== 'core' && kind !== 'node' && kind !== 'listener-core' && kind !== 'listener-node') {
  console.error(`usage: server-process.js core|node|listener-core|listener-node (got ${kind ?? 'nothing'})`);
  process.exit(2);
}
const s = kind === 'core' ? await startCoreH2cServer()
  : kind === 'node' ? await startNodeH2cServer()
  : await startListenerH2cServer(kind === 'listener-core' ? 'core' : 'node');
const address = s.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
let cpu = process.cpuUsage();
let requests = 0;
process.on('message', (m: string) => {
  if (m === 'start') {
    cpu = process.cpuUsage();
    requests = s.requests();
    process.send?.({ started: true });
  } else if (m === 'stop') {
    const d = process.cpuUsage(cpu);
    process.send?.({ userUs: d.user, systemUs: d.system, requests: s.requests() - requests });
  } else if (m === 'exit') {
    process.exit(0);
  }
});
process.send?.({ port });
