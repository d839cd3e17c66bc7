// A client of Prometheus' HTTP API (/api/v1/query and /api/v1/query_range): what the dashboard
// needs of it, with errors that name the query and Prometheus' own message.

export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Series {
  readonly metric: Readonly<Record<string, string>>;
  /** [unix seconds, value] pairs; NaN where Prometheus answered NaN (no requests, for a ratio). */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export class PrometheusError extends Error {
  constructor(readonly query: string, message: string) {
    super(`prometheus: ${message} (query: ${query})`);
    this.name = 'PrometheusError';
  }
}

export interface PrometheusApi {
  readonly url: string;
  query(promql: string): Promise<Sample[]>;
  queryRange(promql: string, startS: number, endS: number, stepS: number): Promise<Series[]>;
}

interface ApiBody {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** `url` is Prometheus' base (http://127.0.0.1:9090, or behind a path prefix). */
export function prometheusApi(url: string, timeoutMs = 10_000): PrometheusApi {
  const base = new URL(url.endsWith('/') ? url : url + '/');
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`--prometheus must be an http(s) URL: ${url}`);
  const call = async (path: string, params: Record<string, string>, promql: string): Promise<unknown> => {
    const target = new URL(path, base);
    let res: Response;
    try {
      res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new PrometheusError(promql, `${base.href} unreachable: ${(err as Error).message}`);
    }
    let body: ApiBody;
    try {
      body = (await res.json()) as ApiBody;
    } catch {
      throw new PrometheusError(promql, `HTTP ${res.status} with a body that is not Prometheus' JSON`);
    }
    if (body.status !== 'success' || body.data === undefined) throw new PrometheusError(promql, body.error ?? `HTTP ${res.status}`);
    return body.data;
  };
  return {
    url: base.href,
    async query(promql) {
      const data = (await call('api/v1/query', { query: promql }, promql)) as { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      if (data.resultType !== 'vector') throw new PrometheusError(promql, `expected a vector, got ${data.resultType}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async queryRange(promql, startS, endS, stepS) {
      const data = (await call('api/v1/query_range', { query: promql, start: String(startS), end: String(endS), step: String(stepS) }, promql)) as {
        resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
      };
      if (data.resultType !== 'matrix') throw new PrometheusError(promql, `expected a matrix, got ${data.resultType}`);
      return data.result.map((r) => ({ metric: r.metric, points: r.values.map(([t, v]) => [t, Number(v)] as const) }));
    },
  };
}
