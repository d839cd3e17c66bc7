// `wasmesh explain --xds`: the same request explained over a control plane's views and over the
// files that control plane serves gives the same answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { readConfig } from '../../host/config/index.js';
import { explainRequest, type ExplainInput } from '../../host/explain/explain-request.js';
import { explainOverXds } from '../../host/explain/xds-views.js';
import { ExplainError } from '../../host/explain/explain-error.js';
import { closedPort } from '../helpers/ports.js';

const SEED = join(import.meta.dirname, '..', '..', 'examples', '002-bookinfo-rules');
const DENY = [
  'apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: ratings-no-delete}',
  'spec:', '  selector: {matchLabels: {app: ratings}}', '  action: DENY', '  rules:', '  - to:', '    - operation: {methods: [DELETE]}', '',
].join('\n');

let dir: string;
let cp: ControlPlane;
let port: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-explain-xds-'));
  for (const f of ['00-bookinfo-services.yaml', 'destination-rule-all.yaml', 'virtual-service-all.yml']) copyFileSync(join(SEED, f), join(dir, f));
  writeFileSync(join(dir, 'deny.yaml'), DENY);
  cp = new ControlPlane({ sources: [dir], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 20, maxDelayMs: 200 } });
  cp.start();
  port = await cp.listen('127.0.0.1', 0);
});
afterAll(async () => {
  await cp?.close();
  rmSync(dir, { recursive: true, force: true });
});

const LABELS = { app: 'productpage', version: 'v1' };
const pair = async (url: string, more: Partial<ExplainInput> = {}) => {
  const files = explainRequest({ files: [dir], url, from: 'productpage-v1', ...more });
  const xds = await explainOverXds({ files: [], url, ...more }, { xds: { host: '127.0.0.1', port }, labels: LABELS });
  return { files, xds };
};

describe('explain --xds', () => {
  it('jason on Chrome: the same rule walk, destination, endpoint and timeout as from the files', async () => {
    const { files, xds } = await pair('http://reviews:9080/reviews/1', { headers: [['end-user', 'jason'], ['user-agent', 'Chrome/120']] });
    expect(xds.route).toEqual(files.route);
    expect(xds.rules).toEqual(files.rules);
    expect(xds.destinations).toEqual(files.destinations);
    expect(xds.endpoint).toEqual(files.endpoint);
    expect(xds.timeoutMs).toBe(2000);
    expect(xds.proxy).toMatchObject({ kind: 'sidecar', namespace: 'default', labels: LABELS });
  });

  it('the destination workload\'s view decides authorization: DELETE on ratings denied by the same policy and rule', async () => {
    const { files, xds } = await pair('http://ratings:9080/ratings/1', { method: 'DELETE' });
    expect(xds.authorization).toEqual(files.authorization);
    expect(xds.authorization).toMatchObject({ decision: 'DENY', policy: 'default/ratings-no-delete', rule: 0 });
    expect(xds.mtls).toEqual(files.mtls);
  });

  it('no control plane: a clear error within the timeout', async () => {
    const closed = await closedPort();
    await expect(explainOverXds({ files: [], url: 'http://reviews/' }, { xds: { host: '127.0.0.1', port: closed }, timeoutMs: 300 })).rejects.toThrow(ExplainError);
    await expect(explainOverXds({ files: [], url: 'http://reviews/', from: 'x' }, { xds: { host: '127.0.0.1', port } })).rejects.toThrow(/--from names a WorkloadEntry/);
  });
});
