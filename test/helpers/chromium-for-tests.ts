// Debian's Chromium for the browser tests (scripts/install-chromium.sh), driven headless with
// playwright-core. Absent → the suite skips with a message, unless WASMESH_REQUIRE_CHROMIUM=1
// (set by .ci/run after installing it), where absence fails.
import { accessSync, constants } from 'node:fs';

export function chromiumForTests(suite: string, candidates: ReadonlyArray<string | undefined> = [process.env.CHROMIUM_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser']): string | null {
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === '') continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  if (process.env.WASMESH_REQUIRE_CHROMIUM === '1') {
    throw new Error(`${suite}: WASMESH_REQUIRE_CHROMIUM=1 but no chromium found (CHROMIUM_BIN=${process.env.CHROMIUM_BIN ?? 'unset'}; run scripts/install-chromium.sh)`);
  }
  console.warn(`${suite}: chromium not installed (run scripts/install-chromium.sh or set CHROMIUM_BIN); its tests are skipped`);
  return null;
}
