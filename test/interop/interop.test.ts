// Runs the interop table against every data plane over real loopback sockets: the same Istio
// YAML must give the same answers from `wasmesh proxy` and from stock Envoy running the
// bootstrap `wasmesh envoy-config` made of it.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { dataPlanes, type RunningProxy } from './data-planes.js';
import { exchangeWith } from './exchanges.js';
import { scenarios } from './scenarios.js';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';

for (const plane of dataPlanes()) {
  if (plane.unavailable !== null) console.warn(`interop: ${plane.name} skipped: ${plane.unavailable}`);

  describe.skipIf(plane.unavailable !== null)(`interop on ${plane.name}`, () => {
    let upstreams: Upstreams;
    beforeAll(async () => { upstreams = await startUpstreams(); });
    afterAll(async () => { await upstreams?.close(); });

    for (const scenario of scenarios) {
      const unserved = scenario.unservedBy?.[plane.name];
      describe.skipIf(unserved !== undefined)(scenario.name, () => {
        let proxy: RunningProxy | undefined;
        beforeAll(async () => { proxy = await plane.start(scenario, upstreams.ports); });
        afterAll(async () => { await proxy?.stop(); });

        for (const exchange of scenario.exchanges) {
          it(exchange.name, async () => {
            await exchangeWith(proxy!.port, proxy!.adminPort, exchange);
          });
        }
      });
    }
  });
}
