// Seed 003 (Istio101) as a runnable scenario: frontend → middleware (prod, canary) → backend,
// one Deployment per WorkloadEntry of examples/003-istio101, each app calling the next hop
// through its own sidecar; the ingress gateway serves frontend-gateway.
import { ChainApp } from './apps/chain-app.js';
import type { Scenario, ScenarioApp } from './scenario-mesh.js';

function chain(workload: string, service: string, version: string, port: number, next?: string): ScenarioApp {
  return {
    workload,
    port,
    labels: { app: service, version },
    make: (p, seed) => new ChainApp({ service, version, port: p, next, seed }),
  };
}

export const ISTIO101: Scenario = {
  name: 'istio101',
  example: 'examples/003-istio101',
  files: ['00-istio101-services.yaml', '01-destinationrules.yaml', '02-routing-3.yaml'],
  gateway: 'frontend-gateway',
  apps: [
    chain('frontend-prod', 'frontend', 'prod', 15301, 'middleware'),
    chain('middleware-prod', 'middleware', 'prod', 15311, 'backend'),
    chain('middleware-canary', 'middleware', 'canary', 15312, 'backend'),
    chain('backend-prod', 'backend', 'prod', 15321),
  ],
};
