// The Envoy binary for tests: absent → the Envoy tests skip with a message, unless
// WASMESH_REQUIRE_ENVOY=1 (set by .ci/run after installing it), where absence is a failure.
import { findEnvoy } from '../../host/envoy/find-envoy.js';

export function envoyForTests(suite: string): string | null {
  const bin = findEnvoy();
  if (bin !== null) return bin;
  if (process.env.WASMESH_REQUIRE_ENVOY === '1') {
    throw new Error(`${suite}: WASMESH_REQUIRE_ENVOY=1 but no Envoy found (ENVOY_BIN=${process.env.ENVOY_BIN ?? 'unset'}; run scripts/install-envoy.sh)`);
  }
  console.warn(`${suite}: Envoy not installed (run scripts/install-envoy.sh or set ENVOY_BIN); its Envoy tests are skipped`);
  return null;
}
