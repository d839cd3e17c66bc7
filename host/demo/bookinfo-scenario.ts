// Seed 002 (bookinfo rules) as a runnable scenario: productpage, reviews v1/v2/v3, ratings
// v1/v2 and details v1/v2 on the WorkloadEntries of examples/002-bookinfo-rules; productpage
// and reviews v2/v3 call out through their own sidecars; the ingress gateway serves
// sampleapp-gateway (the seed's `/productpage` paths to productpage:9080).
import { detailsApp, ProductpageApp, ratingsApp, ReviewsApp } from './apps/bookinfo-apps.js';
import type { ServiceApp } from './apps/service-app.js';
import type { Scenario, ScenarioApp } from './scenario-mesh.js';

function app(service: string, version: string, port: number, make: (port: number) => ServiceApp): ScenarioApp {
  return { workload: `${service}-${version}`, port, labels: { app: service, version }, make };
}

export const BOOKINFO: Scenario = {
  name: 'bookinfo',
  example: 'examples/002-bookinfo-rules',
  files: ['00-bookinfo-services.yaml', 'destination-rule-all.yaml', 'gateway.yml', 'virtual-service-all.yml', 'virtual-service.yml'],
  gateway: 'sampleapp-gateway',
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
};
