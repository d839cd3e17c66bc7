// Seed 003 (Istio101) as a runnable scenario: frontend → middleware (prod, canary) → backend,
// one Deployment per WorkloadEntry of examples/003-istio101, each app calling the next hop
// through its own sidecar; the ingress gateway serves frontend-gateway.
import { ChainApp } from './apps/chain-app.js';
import { join } from 'node:path';
import { proxyStatusHint, strictMtlsHint, whereThingsRun } from './scenario-guide.js';
import type { RunningScenario, Scenario, ScenarioApp } from './scenario-mesh.js';

/** The variant that retries 500s as the seed's Istio did (see its comment). */
const RETRY_ON_5XX = '03-retry-on-5xx.yaml';

function chain(workload: string, service: string, version: string, port: number, next?: string): ScenarioApp {
  return {
    workload,
    port,
    sidecar: next !== undefined,
    // One service account per service, shared by its versions (as a Deployment's serviceAccountName).
    serviceAccount: service,
    labels: { app: service, version },
    make: (p, seed) => new ChainApp({ service, version, port: p, next, seed }),
  };
}

export const ISTIO101: Scenario = {
  name: 'istio101',
  example: 'examples/003-istio101',
  files: ['00-istio101-services.yaml', '01-destinationrules.yaml', '02-routing-3.yaml'],
  gateway: 'frontend-gateway',
  // The seed's DestinationRules ask for ISTIO_MUTUAL; the example keeps them as the seed wrote
  // them, and the demo (loopback only: no byte leaves the machine) runs them unenforced, loudly.
  unenforcedSecurity: "seed 003's DestinationRules ask for ISTIO_MUTUAL (mutual TLS), which needs workload identities: without --mtls the demo runs without them, on loopback",
  // `--mtls`: the identities, and mesh-wide STRICT on top of the seed's ISTIO_MUTUAL.
  strictPeerAuthentication: 'mtls/10-peer-authentication-strict.yaml',
  apps: [
    chain('frontend-prod', 'frontend', 'prod', 15301, 'middleware'),
    chain('middleware-prod', 'middleware', 'prod', 15311, 'backend'),
    chain('middleware-canary', 'middleware', 'canary', 15312, 'backend'),
    chain('backend-prod', 'backend', 'prod', 15321),
  ],
  guide: istio101Guide,
};

function istio101Guide(run: RunningScenario, exampleDir: string, ownDir: boolean): string[] {
  const gw = `${run.gateway.url}/`;
  const codes = (header: string) => `for i in $(seq 1 100); do curl -s -o /dev/null -w '%{http_code}\\n' ${header}${gw}; done | sort | uniq -c`;
  return [
    '',
    'wasmesh demo istio101: seed 003 (Istio101) is running on loopback.',
    '',
    ...whereThingsRun(run, 'Gateway frontend-gateway → frontend (prod) → middleware → backend', ownDir),
    '',
    ...(run.mtls === null
      ? [`NOT ENFORCED: ${run.scenario.unenforcedSecurity} (as --allow-unenforced-security). \`wasmesh demo istio101 --mtls\` enforces it.`, '']
      : strictMtlsHint(run, 'PeerAuthentication default in istio-system; with the seed\'s ISTIO_MUTUAL', 'backend-prod', [
          'Each hop names the SPIFFE ID its sidecar verified for the caller:',
          `  curl -s ${gw}`,
        ])),
    'Call the chain (frontend → middleware prod → backend):',
    `  curl -s ${gw}`,
    'Reach the middleware canary, as the seed\'s trusted testers do:',
    `  curl -s -H 'x-dev-user: super-secret' ${gw}`,
    'Make every hop answer 500 30 % of the time, and count the answers:',
    `  ${codes("-H 'fail: 0.3' ")}`,
    'The seed\'s rules retry 3 times, but current Istio (which wasmesh follows) retries only connect',
    'failures by default, so about 66 % still fail (1 − 0.7³). Retry on 5xx as the seed\'s Istio 1.0 did,',
    'live, and the failures drop to about 1 %:',
    `  cp ${join(exampleDir, 'variants', RETRY_ON_5XX)} ${run.runDir}/`,
    'and back:',
    `  rm ${join(run.runDir, RETRY_ON_5XX)}`,
    '',
    ...proxyStatusHint(run),
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
}

