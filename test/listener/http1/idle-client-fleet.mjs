// A child process holding thousands of raw keep-alive client connections for
// idle-connections.test.ts: in a process of its own so that the clients' descriptors do not
// count against the test process's open-file limit (the proxy holds the other end of each).
// Driven over IPC: open, serve (one GET per connection, its answer checked), count, burst and
// connectedBefore.
import net from 'node:net';

/** @type {Array<{ socket: net.Socket, closed: boolean, closedAt: number, buf: string, waiting: ((body: string | null) => void) | null }>} */
const conns = [];

function open(port, host) {
  return new Promise((resolve) => {
    const c = { socket: net.connect(port, host), closed: false, closedAt: 0, buf: '', waiting: null };
    c.socket.setNoDelay(true);
    c.socket.on('connect', () => resolve(c));
    c.socket.on('error', () => {});
    c.socket.on('data', (d) => {
      c.buf += d.toString('latin1');
      const end = c.buf.indexOf('\r\n\r\n');
      if (end < 0 || !c.waiting) return;
      const len = Number(/content-length: (\d+)/i.exec(c.buf.slice(0, end))?.[1] ?? -1);
      if (len < 0 || c.buf.length < end + 4 + len) return;
      const status = c.buf.slice(9, 12);
      const body = c.buf.slice(end + 4, end + 4 + len);
      c.buf = c.buf.slice(end + 4 + len);
      const w = c.waiting;
      c.waiting = null;
      w(`${status} ${body}`);
    });
    c.socket.on('close', () => {
      if (!c.closed) {
        c.closed = true;
        c.closedAt = Date.now();
      }
      c.waiting?.(null);
      c.waiting = null;
      resolve(c);
    });
    conns.push(c);
  });
}

async function openAll({ port, host, n, batch }) {
  const started = Date.now();
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => open(port, host)));
  }
  return { opened: conns.filter((c) => !c.closed).length, ms: Date.now() - started };
}

/** One GET per open connection, `batch` at a time; each must come back `200 <its number>`. */
async function serveAll({ host, batch }) {
  const started = Date.now();
  let ok = 0;
  const bad = [];
  for (let i = 0; i < conns.length; i += batch) {
    await Promise.all(conns.slice(i, i + batch).map((c, k) => new Promise((resolve) => {
      const n = i + k;
      if (c.closed) {
        bad.push(`${n}: closed before serving`);
        return resolve();
      }
      c.waiting = (answer) => {
        if (answer === `200 ${n}`) ok++;
        else bad.push(`${n}: ${answer}`);
        resolve();
      };
      c.socket.write(`GET /idle/${n} HTTP/1.1\r\nHost: ${host}\r\nx-n: ${n}\r\n\r\n`);
    })));
  }
  return { ok, bad: bad.slice(0, 10), badCount: bad.length, ms: Date.now() - started };
}

/** `n` connects at once, each one's completion time noted (see connectedBefore). */
function burst({ port, host, n }) {
  for (let i = 0; i < n; i++) {
    open(port, host).then((c) => {
      if (!c.closed) c.connectedAt = Date.now();
    });
  }
  return { started: Date.now() };
}

/** How many connects of the burst had completed at time `t` (Date.now() of the caller). */
function connectedBefore({ t }) {
  return { connected: conns.filter((c) => c.connectedAt !== undefined && c.connectedAt <= t).length };
}

function count() {
  return { open: conns.filter((c) => !c.closed).length, closed: conns.filter((c) => c.closed).length, lastClosedAt: Math.max(0, ...conns.map((c) => c.closedAt)) };
}

process.on('message', async (msg) => {
  let reply;
  if (msg.cmd === 'open') reply = await openAll(msg);
  else if (msg.cmd === 'serve') reply = await serveAll(msg);
  else if (msg.cmd === 'count') reply = count();
  else if (msg.cmd === 'burst') reply = burst(msg);
  else if (msg.cmd === 'connectedBefore') reply = connectedBefore(msg);
  process.send({ id: msg.id, ...reply });
});
process.send({ ready: true });
