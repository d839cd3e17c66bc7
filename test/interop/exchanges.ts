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

export function check(exchange: Exchange, answers: Answer[]): void {
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
