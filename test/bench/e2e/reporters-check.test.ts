// The both-reporters telemetry mode's guard: checkBothReporters refuses a pair whose proxies did
// not both report with their peer known (no destination series; the peer `unknown`: the metadata
// exchange did not happen; an admin that does not answer), naming what it found. Real pairs pass
// it in e2e-telemetry-pair-smoke.test.ts.
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBothReporters, ReportersCheckError, requestSeries } from '../../../bench/e2e/reporters-check.js';

const labels = (reporter: string, source: string, destination: string): string =>
  `reporter="${reporter}",source_workload="${source}",source_workload_namespace="default",destination_workload="${destination}",response_code="200",response_flags="-"`;

/** A stand-in admin API answering /stats/prometheus with `text` (or `status`). */
async function admin(text: string, status = 200): Promise<string> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/stats/prometheus' ? status : 404, { 'content-type': 'text/plain' }).end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}
const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

const CLIENT_OK = `# TYPE istio_requests_total counter\nistio_requests_total{${labels('source', 'bench-client', 'bench-app')}} 120\n`;
const APP_OK = `# TYPE istio_requests_total counter\nistio_requests_total{${labels('destination', 'bench-client', 'bench-app')}} 118\n` +
  `istio_requests_total{${labels('destination', 'bench-client', 'bench-app').replace('response_code="200"', 'response_code="0"')}} 2\n`;

describe('checkBothReporters', () => {
  it('reports both reporters\' totals and their largest series', async () => {
    const facts = await checkBothReporters(await admin(CLIENT_OK), await admin(APP_OK));
    expect(facts[0]).toMatch(/^source reporter \(client side's proxy\): istio_requests_total\{reporter="source",destination_workload="bench-app"\} = 120 \(1 series/);
    expect(facts[1]).toMatch(/^destination reporter \(app's sidecar\): istio_requests_total\{reporter="destination",source_workload="bench-client"\} = 120 \(2 series, the largest .*response_code="200".* 118\)$/);
  });

  it('no destination series: refused, saying what the sidecar had', async () => {
    const check = checkBothReporters(await admin(CLIENT_OK), await admin('# nothing\nenvoy_cluster_upstream_rq_total{envoy_cluster_name="x"} 3\n'));
    await expect(check).rejects.toBeInstanceOf(ReportersCheckError);
    await expect(check).rejects.toThrow(/^destination reporter \(app's sidecar\) \(http:\/\/127\.0\.0\.1:\d+\/stats\/prometheus\): expected istio_requests_total\{reporter="destination",source_workload="bench-client"\} > 0, found no reporter="destination" series \(0 istio_requests_total series in all\)/);
  });

  it('the peer unknown (no metadata exchange): refused, naming the peers seen', async () => {
    const app = `istio_requests_total{${labels('destination', 'unknown', 'bench-app')}} 50\n`;
    await expect(checkBothReporters(await admin(CLIENT_OK), await admin(app))).rejects.toThrow(/found reporter="destination" series only with source_workload "unknown"/);
    const client = `istio_requests_total{${labels('source', 'bench-client', 'unknown')}} 50\n`;
    await expect(checkBothReporters(await admin(client), await admin(APP_OK))).rejects.toThrow(/^source reporter .*destination_workload="bench-app"\} > 0, found reporter="source" series only with destination_workload "unknown"/);
  });

  it('a zero count is no report', async () => {
    const app = `istio_requests_total{${labels('destination', 'bench-client', 'bench-app')}} 0\n`;
    await expect(checkBothReporters(await admin(CLIENT_OK), await admin(app))).rejects.toThrow(/reporter="destination" series only with source_workload "bench-client"/);
  });

  it('an admin that does not answer 200: refused with the status', async () => {
    await expect(checkBothReporters(await admin('gone', 503), await admin(APP_OK))).rejects.toThrow(/^client side's proxy: GET http:\/\/127\.0\.0\.1:\d+\/stats\/prometheus answered 503: gone/);
  });

  it('requestSeries reads only istio_requests_total, with escaped label values', () => {
    const s = requestSeries('istio_requests_total{reporter="source",x="a\\"b"} 7\nistio_request_bytes_count{reporter="source"} 9\n');
    expect(s).toEqual([{ labels: { reporter: 'source', x: 'a\\"b' }, text: 'istio_requests_total{reporter="source",x="a\\"b"} 7', value: 7 }]);
  });
});
