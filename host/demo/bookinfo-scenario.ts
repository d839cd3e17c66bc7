// Seed 002 (bookinfo rules) as a runnable scenario: productpage, reviews v1/v2/v3, ratings
// v1/v2 and details v1/v2 on the WorkloadEntries of examples/002-bookinfo-rules; productpage
// and reviews v2/v3 call out through their own sidecars; the ingress gateway serves
// sampleapp-gateway (the seed's `/productpage` paths to productpage:9080).
import { detailsApp, ProductpageApp, ratingsApp, ReviewsApp } from './apps/bookinfo-apps.js';
import type { ServiceApp } from './apps/service-app.js';
import { proxyStatusHint, strictMtlsHint, whereThingsRun } from './scenario-guide.js';
import type { RunningScenario, Scenario, ScenarioApp } from './scenario-mesh.js';

function app(service: string, version: string, port: number, make: (port: number) => ServiceApp): ScenarioApp {
  // productpage calls details and reviews; reviews v2 and v3 call ratings; the rest call no one.
  const sidecar = service === 'productpage' || (service === 'reviews' && version !== 'v1');
  // Istio's bookinfo runs each service as bookinfo-<service>.
  return { workload: `${service}-${version}`, port, sidecar, serviceAccount: `bookinfo-${service}`, labels: { app: service, version }, make };
}

export const BOOKINFO: Scenario = {
  name: 'bookinfo',
  example: 'examples/002-bookinfo-rules',
  files: ['00-bookinfo-services.yaml', 'destination-rule-all.yaml', 'gateway.yml', 'virtual-service-all.yml', 'virtual-service.yml'],
  gateway: 'sampleapp-gateway',
  // `--mtls`: the seed's own security step, enable-strict-mode.yml (STRICT for the default namespace).
  strictPeerAuthentication: 'mtls/enable-strict-mode.yml',
  apps: [
    app('productpage', 'v1', 15201, (port) => new ProductpageApp({ version: 'v1', port })),
    app('reviews', 'v1', 15211, (port) => new ReviewsApp({ version: 'v1', port })),
    app('reviews', 'v2', 15212, (port) => new ReviewsApp({ version: 'v2', port })),
    app('reviews', 'v3', 15213, (port) => new ReviewsApp({ version: 'v3', port })),
    app('ratings', 'v1', 15221, (port) => ratingsApp({ version: 'v1', port })),
    app('ratings', 'v2', 15222, (port) => ratingsApp({ version: 'v2', port })),
    app('details', 'v1', 15231, (port) => detailsApp({ version: 'v1', port })),
    app('details', 'v2', 15232, (port) => detailsApp({ version: 'v2', port })),
  ],
  guide: bookinfoGuide,
};

function bookinfoGuide(run: RunningScenario, _exampleDir: string, ownDir: boolean): string[] {
  const page = `${run.gateway.url}/productpage`;
  const sidecar = run.sidecars.get('productpage-v1')!;
  const reviews = run.sidecars.get('reviews-v2')!;
  return [
    '',
    'wasmesh demo bookinfo: seed 002 (bookinfo rules) is running on loopback.',
    '',
    ...whereThingsRun(run, 'Gateway sampleapp-gateway: /productpage, /static, /login, /logout, /api/v1/products → productpage:9080', ownDir),
    '',
    ...(run.mtls === null
      ? []
      : strictMtlsHint(run, 'the seed\'s enable-strict-mode.yml: STRICT for the default namespace', 'reviews-v2', [
          'Each app answers the SPIFFE ID its sidecar verified for the caller (x-caller-identity): productpage saw the gateway:',
          `  curl -s -o /dev/null -D - ${run.gateway.url}/productpage | grep -i x-caller-identity`,
        ])),
    'The product page: reviews v1, each reviews call mirrored to v3 (reviews-shadow:9080):',
    `  curl -s ${page}`,
    'As jason on Chrome: reviews v2 (black stars, from ratings), with a 2 s timeout:',
    `  curl -s -H 'end-user: jason' -A 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' ${page}`,
    'productpage as a mesh client calls it, through a sidecar (retries on gateway-error,connect-failure,refused-stream;',
    'connection pool http2MaxRequests: 5, beyond it 503 UO):',
    `  curl -s -H 'Host: productpage:9080' ${sidecar.url}/productpage`,
    'ratings as reviews v2 calls it (outlier detection: 5 consecutive 5xx eject an endpoint):',
    `  curl -s -H 'Host: ratings:9080' ${reviews.url}/ratings/0`,
    'Endpoint health, ejections and active requests as the sidecar sees them:',
    `  curl -s ${reviews.adminUrl}/clusters`,
    '',
    ...proxyStatusHint(run),
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
}
