// The interop table on the xDS-driven data planes: the same scenarios and Istio YAML as
// interop.test.ts, served by a control plane watching a folder, to `wasmesh proxy --xds`, to
// stock Envoy from `wasmesh envoy-bootstrap` over state-of-the-world and over delta ADS, and to
// Envoy with the wasmesh filters — each proxy SYNCED on a scenario's YAML before its requests.
// A scenario a file-driven plane does not serve (unservedBy) is skipped on the xDS plane of the
// same engine, and only there.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { exchangeWith } from './exchanges.js';
import { scenarios } from './scenarios.js';
import { xdsDataPlanes, type XdsSession } from './xds-data-planes.js';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';

for (const plane of xdsDataPlanes()) {
  if (plane.unavailable !== null) console.warn(`interop: ${plane.name} skipped: ${plane.unavailable}`);

  describe.skipIf(plane.unavailable !== null)(`interop on ${plane.name}`, () => {
    let upstreams: Upstreams;
    let session: XdsSession;
    beforeAll(async () => {
      upstreams = await startUpstreams();
      session = await plane.open();
    });
    afterAll(async () => {
      await session?.close();
      await upstreams?.close();
    });

    for (const scenario of scenarios) {
      const unserved = scenario.unservedBy?.[plane.engine];
      describe.skipIf(unserved !== undefined)(scenario.name, () => {
        let ports = { port: 0, adminPort: 0 };
        beforeAll(async () => { ports = await session.load(scenario, upstreams.ports); }, 30_000);

        for (const exchange of scenario.exchanges) {
          it(exchange.name, async () => {
            await exchangeWith(ports.port, ports.adminPort, exchange);
          });
        }
      });
    }
  });
}
