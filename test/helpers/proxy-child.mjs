// Runs a ProxyServer (from the compiled dist/) alone in a child process, so that a test can
// measure the proxy's own memory while it streams, reported over IPC relative to a baseline
// taken after warm-up: peak RSS, and peak live JS+external bytes (sampled every 20 ms right
// after a forced GC, so that garbage not yet collected is not mistaken for buffering).
import { ProxyServer } from '../../dist/host/server/proxy-server.js';

let proxy = null;
let baseline = null;
let peak = { rss: 0, js: 0 };

function sample() {
  global.gc?.();
  const m = process.memoryUsage();
  const js = m.heapUsed + m.external + m.arrayBuffers;
  if (m.rss > peak.rss) peak.rss = m.rss;
  if (js > peak.js) peak.js = js;
}

process.on('message', async (msg) => {
  if (msg.type === 'start') {
    proxy = new ProxyServer({ host: '127.0.0.1', port: 0, limits: msg.limits ?? {} });
    proxy.apply(msg.mesh, 1);
    await proxy.listen();
    process.send({ type: 'ready', port: proxy.port });
  } else if (msg.type === 'baseline') {
    global.gc?.();
    const m = process.memoryUsage();
    baseline = { rss: m.rss, js: m.heapUsed + m.external + m.arrayBuffers };
    peak = { rss: 0, js: 0 };
    process.send({ type: 'baseline', baseline });
  } else if (msg.type === 'peak') {
    sample();
    process.send({ type: 'peak', growth: { rss: peak.rss - baseline.rss, js: peak.js - baseline.js }, stats: proxy.stats.toJSON() });
  } else if (msg.type === 'close') {
    await proxy.close();
    process.exit(0);
  }
});
setInterval(sample, 20).unref();
