// The app side of bench/tproxy/run.sh: `count` sequential connections to host:port, each sending
// one line and waiting for its echo, then closing; prints the median and p90 milliseconds per
// connection (connect + one round trip + close) as JSON.
import net from 'node:net';

const [host, port, count] = process.argv.slice(2);
const times = [];
for (let i = 0; i < Number(count); i++) {
  const t0 = process.hrtime.bigint();
  await new Promise((resolve, reject) => {
    const s = net.connect({ host, port: Number(port) }, () => s.write('ping\n'));
    s.once('data', () => { s.end(); });
    s.on('close', resolve);
    s.on('error', reject);
  });
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(3);
process.stdout.write(JSON.stringify({ host, port: Number(port), count: times.length, p50ms: Number(at(0.5)), p90ms: Number(at(0.9)) }) + '\n');
