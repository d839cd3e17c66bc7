// The telemetry mode's trace collector: a tiny HTTP server in the harness that accepts Zipkin v2
// JSON batches (`POST /api/v2/spans`, what wasmesh and Envoy's Zipkin tracer send) and counts the
// spans, so that the report can show that 1 % sampling really exported spans. At 1 % it does
// almost no work: it does not compete with the proxies for the cores.
import { createServer, type Server } from 'node:http';

export interface SpanSink {
  port: number;
  /** Spans received so far, per batch's JSON array length. */
  spans(): number;
  /** Batches (POSTs) received, whatever their body. */
  batches(): number;
  /** Bodies that were not a JSON array (another encoding): counted as batches only. */
  unreadable(): number;
  close(): Promise<void>;
}

export async function startSpanSink(): Promise<SpanSink> {
  let spans = 0;
  let batches = 0;
  let unreadable = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST') {
        batches++;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          if (Array.isArray(body)) spans += body.length;
          else unreadable++;
        } catch {
          unreadable++;
        }
      }
      // Zipkin answers 202 Accepted.
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    spans: () => spans,
    batches: () => batches,
    unreadable: () => unreadable,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
