// Sends an interop exchange's requests to a data plane and checks the answers against the
// scenario's expectations: the one implementation every interop table (file-driven and
// xDS-driven planes) runs.
import { expect } from 'vitest';
import { Pool } from 'undici';
import type { Answer, Exchange, HeaderExpectation } from './scenarios.js';

/** Sends one exchange's requests, 8 at a time over keep-alive connections. */
export async function send(port: number, exchange: Exchange): Promise<Answer[]> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8 });
  const { path, method = 'GET', host = 'web.example.com', headers = {}, count } = exchange.request;
  const answers: Answer[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const started = performance.now();
      const res = await pool.request({ method, path, headers: { host, ...headers } });
      const body = await res.body.text();
      const ms = performance.now() - started;
      const seenRaw = res.headers['x-seen-headers'];
      answers.push({ status: res.statusCode, body, headers: res.headers, seen: typeof seenRaw === 'string' ? JSON.parse(seenRaw) : null, ms });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(8, count) }, worker));
  } finally {
    await pool.close();
  }
  return answers;
}

function checkHeaders(actual: Record<string, string | string[] | undefined> | null, expected: Record<string, HeaderExpectation>, what: string): void {
  for (const [name, want] of Object.entries(expected)) {
    const got = actual?.[name];
    if (want === null) expect(got, `${what} ${name} must be absent`).toBeUndefined();
    else if (want instanceof RegExp) expect(String(got), `${what} ${name}`).toMatch(want);
    else expect(got, `${what} ${name}`).toBe(want);
  }
}

/**
 * The sum of the admin counters named `names` (alone or as a name's last dot-separated parts:
 * Envoy's `http.<prefix>.fault.delays_injected`, wasmesh's `fault.delays_injected`, the
 * wasmesh filters' `wasmcustom.wasmesh_fault_delays` in Envoy). The filters hand their counts to
 * Envoy in batches (every 64, and on a tick at least once a second): when a `wasmcustom.` counter
 * is among them, it is read until unchanged for 2.5 s.
 */
export async function adminCounter(adminPort: number, names: readonly string[]): Promise<number> {
  const filter = `(^|\\.)(${names.map((n) => n.replace(/[.]/g, '\\.')).join('|')})$`;
  const read = async (): Promise<{ value: number; batched: boolean }> => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/stats?filter=${encodeURIComponent(filter)}`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`admin :${adminPort} /stats: ${res.status} ${text.slice(0, 200)}`);
    const found = [...text.matchAll(/^(\S+): (\d+)$/gm)];
    if (found.length === 0) throw new Error(`admin :${adminPort} /stats has no counter named ${names.join(' or ')}`);
    return { value: found.reduce((a, m) => a + Number(m[2]), 0), batched: found.some((m) => m[1]!.startsWith('wasmcustom.')) };
  };
  let last = await read();
  if (!last.batched) return last.value;
  for (let since = Date.now(); Date.now() - since < 2_500;) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await read();
    if (now.value !== last.value) since = Date.now();
    last = now;
  }
  return last.value;
}

/**
 * Sends an exchange to a plane (its listener and admin ports) and checks the answers; a split
 * `countedBy` a counter reads it from the admin before and after.
 */
export async function exchangeWith(port: number, adminPort: number, exchange: Exchange): Promise<void> {
  const e = exchange.expect;
  const counter = e.kind === 'split' ? e.countedBy : undefined;
  if (counter === undefined) return check(exchange, await send(port, exchange));
  const before = await adminCounter(adminPort, counter);
  const answers = await send(port, exchange);
  check(exchange, answers, (await adminCounter(adminPort, counter)) - before);
}

/** `counted`: the plane's own count of the slow answers, for an expectation `countedBy` a counter. */
export function check(exchange: Exchange, answers: Answer[], counted?: number): void {
  const e = exchange.expect;
  expect(answers).toHaveLength(exchange.request.count);
  if (e.kind === 'every') {
    for (const a of answers) {
      expect(a.status, `status (body ${JSON.stringify(a.body.slice(0, 200))})`).toBe(e.status);
      if (e.body !== undefined) expect(a.body).toBe(e.body);
      if (e.headers) checkHeaders(a.headers, e.headers, 'response header');
      if (e.seen) checkHeaders(a.seen, e.seen, 'upstream-seen request header');
      if (e.minMs !== undefined) expect(a.ms, 'milliseconds').toBeGreaterThanOrEqual(e.minMs);
    }
    return;
  }
  if (e.countedBy !== undefined) return checkCounted(e, answers, counted);
  const counts = new Map<string, number>();
  for (const a of answers) {
    let key: string;
    if (e.by === 'status') key = String(a.status);
    else {
      expect(a.status).toBe(200);
      key = e.by === 'latency' ? (a.ms >= (e.slowMs ?? 0) ? 'slow' : 'fast') : a.body;
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  expect([...counts.keys()].sort()).toEqual(Object.keys(e.shares).sort());
  for (const [body, share] of Object.entries(e.shares)) {
    const points = (100 * (counts.get(body) ?? 0)) / answers.length;
    expect(Math.abs(points - 100 * share), `${body}: ${points.toFixed(1)}% vs ${100 * share}%`).toBeLessThanOrEqual(e.tolerancePoints);
  }
}

/** A latency split whose slow answers the plane counted: the count's share, and the timing agreeing one-sidedly. */
function checkCounted(e: Extract<Exchange['expect'], { kind: 'split' }>, answers: Answer[], counted: number | undefined): void {
  if (counted === undefined) throw new Error(`the split is counted by ${e.countedBy}: call exchangeWith (the plane's admin port), not check alone`);
  expect(e.by, 'countedBy counts slow answers').toBe('latency');
  for (const a of answers) expect(a.status, `status (body ${JSON.stringify(a.body.slice(0, 200))})`).toBe(200);
  expect(counted, `${e.countedBy} rose by ${counted} over ${answers.length} answers`).toBeLessThanOrEqual(answers.length);
  const shares = { slow: counted / answers.length, fast: 1 - counted / answers.length };
  expect(Object.keys(e.shares).sort()).toEqual(['fast', 'slow']);
  for (const [key, share] of Object.entries(e.shares)) {
    const points = 100 * shares[key as 'slow' | 'fast'];
    expect(Math.abs(points - 100 * share), `${key} (by ${e.countedBy}): ${points.toFixed(1)}% vs ${100 * share}%`).toBeLessThanOrEqual(e.tolerancePoints);
  }
  // Load only makes answers slower: every delayed answer took slowMs or more, so at least
  // `counted` did; the undelayed ones mostly took less, so not every answer is slow.
  const slowMs = e.slowMs ?? 0;
  const slow = answers.filter((a) => a.ms >= slowMs).length;
  expect(slow, `answers taking ≥ ${slowMs} ms vs ${counted} counted by ${e.countedBy}`).toBeGreaterThanOrEqual(counted);
  const fast = answers.length - slow;
  expect(fast, `answers under ${slowMs} ms of ${answers.length - counted} not counted as delayed`).toBeGreaterThanOrEqual(Math.floor((answers.length - counted) / 4));
}
