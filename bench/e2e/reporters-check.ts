// After the both-reporters telemetry pair (`--telemetry-pair`) is measured, the harness proves it
// measured both reporters: a figure for "Istio's metrics on both sidecars" is a lie if the app's
// sidecar never reported, or reported without knowing its peer (the peer metadata exchange off).
// Read from each proxy's admin /stats/prometheus (Envoy's path, the text Prometheus scrapes):
// the app's sidecar must have istio_requests_total{reporter="destination"} > 0 with the client
// side's workload as source_workload (learnt from its x-envoy-peer-metadata headers), and the
// client side's proxy reporter="source" > 0 with the app's workload as destination_workload
// (learnt from the response's headers).
import { APP_WORKLOAD, CLIENT_WORKLOAD } from './mtls-pair.js';

export class ReportersCheckError extends Error {
  readonly code = 'E2E_REPORTER_MISSING';
}

/** One istio_requests_total series: its labels and value. */
interface Series {
  labels: Record<string, string>;
  text: string;
  value: number;
}

/** The istio_requests_total series of a Prometheus text exposition. */
export function requestSeries(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const m = /^istio_requests_total\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, text: line, value: Number(m[2]) });
  }
  return out;
}

async function scrape(admin: string, what: string): Promise<string> {
  const url = `${admin}/stats/prometheus`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new ReportersCheckError(`${what}: GET ${url} failed: ${(err as Error).message}`);
  }
  const body = await res.text();
  if (res.status !== 200) throw new ReportersCheckError(`${what}: GET ${url} answered ${res.status}: ${body.slice(0, 200)}`);
  return body;
}

/**
 * The reporter's requests whose peer is the expected workload: rejects, naming the series found,
 * when there are none.
 */
function requireReporter(text: string, o: { what: string; admin: string; reporter: 'source' | 'destination'; peerLabel: string; peer: string }): string {
  const all = requestSeries(text);
  const mine = all.filter((s) => s.labels['reporter'] === o.reporter);
  const known = mine.filter((s) => s.labels[o.peerLabel] === o.peer && s.value > 0).sort((a, b) => b.value - a.value);
  const total = known.reduce((n, s) => n + s.value, 0);
  if (total === 0) {
    const seen = mine.length === 0 ? `no reporter="${o.reporter}" series (${all.length} istio_requests_total series in all)`
      : `reporter="${o.reporter}" series only with ${o.peerLabel} ${[...new Set(mine.map((s) => JSON.stringify(s.labels[o.peerLabel])))].join(', ')}`;
    throw new ReportersCheckError(`${o.what} (${o.admin}/stats/prometheus): expected istio_requests_total{reporter="${o.reporter}",${o.peerLabel}="${o.peer}"} > 0, found ${seen}: ` +
      'the pair did not measure this reporter with its peer known, so its figures are not those of Istio\'s metrics on both sides');
  }
  return `${o.what}: istio_requests_total{reporter="${o.reporter}",${o.peerLabel}="${o.peer}"} = ${total} (${known.length} series, the largest ${known[0]!.text})`;
}

/** Both reporters' facts (client side's first), or a ReportersCheckError saying what is missing. */
export async function checkBothReporters(clientAdmin: string, appAdmin: string): Promise<string[]> {
  const [client, app] = await Promise.all([scrape(clientAdmin, 'client side\'s proxy'), scrape(appAdmin, 'app\'s sidecar')]);
  return [
    requireReporter(client, { what: 'source reporter (client side\'s proxy)', admin: clientAdmin, reporter: 'source', peerLabel: 'destination_workload', peer: APP_WORKLOAD }),
    requireReporter(app, { what: 'destination reporter (app\'s sidecar)', admin: appAdmin, reporter: 'destination', peerLabel: 'source_workload', peer: CLIENT_WORKLOAD }),
  ];
}
