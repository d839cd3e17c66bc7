#!/usr/bin/env node
// A WebSocket client for `wasmesh demo protocols` (the `ws` package): opens the URL given — the
// demo's gateway — prints what the server sends (`<` lines), sends each further argument as a
// text message (`>` lines), waits for as many answers, then closes with 1000 and prints the close.
//   node ws-client.mjs ws://127.0.0.1:8080/chat hello world
// Exits 1 when the upgrade is refused, the connection fails, or an answer is missing after 10 s.
import WebSocket from 'ws';

const [url, ...messages] = process.argv.slice(2);
if (url === undefined || !/^wss?:\/\//.test(url)) {
  process.stderr.write('usage: node ws-client.mjs <ws://host:port/path> [message …]\n');
  process.exit(2);
}
const ws = new WebSocket(url);
const giveUp = setTimeout(() => {
  process.stderr.write(`ws-client: no answer to every message after 10 s\n`);
  process.exit(1);
}, 10_000);
// The server's greeting, then one answer per message.
let expected = 1 + messages.length;
ws.on('unexpected-response', (_req, res) => {
  process.stderr.write(`ws-client: upgrade refused: HTTP ${res.statusCode}\n`);
  process.exit(1);
});
ws.on('error', (err) => {
  process.stderr.write(`ws-client: ${err.message}\n`);
  process.exit(1);
});
ws.on('open', () => {
  for (const m of messages) {
    process.stdout.write(`> ${m}\n`);
    ws.send(m);
  }
});
ws.on('message', (data) => {
  process.stdout.write(`< ${data.toString()}\n`);
  if (--expected === 0) ws.close(1000, 'done');
});
ws.on('close', (code) => {
  clearTimeout(giveUp);
  process.stdout.write(`closed ${code}\n`);
  process.exit(expected === 0 ? 0 : 1);
});
