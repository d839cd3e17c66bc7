// `--app-probers` (with --merged-stats): ISTIO_KUBE_APP_PROBERS parsed into the prober the
// merged-stats port answers /app-health/ with; bad JSON or entries are usage errors naming them,
// and the flag is refused when --merged-stats is off.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../host/cli/args.js';
import { mergedStatsFromFlags } from '../../host/cli/stats-flag.js';
import { AppProber } from '../../host/admin/app-prober.js';

describe('--app-probers', () => {
  it('gives the merged-stats port a prober', async () => {
    const ms = mergedStatsFromFlags('wasmesh sidecar', { 'app-probers': '{"/app-health/web/readyz":{"tcpSocket":{"port":1}}}' });
    expect(ms?.probers).toBeInstanceOf(AppProber);
    expect((await ms!.probers!.answer('/app-health/x/livez')).status).toBe(404);
    expect(mergedStatsFromFlags('wasmesh sidecar', {})?.probers).toBeUndefined();
  });

  it('refuses bad probers and --merged-stats off', () => {
    expect(() => mergedStatsFromFlags('wasmesh sidecar', { 'app-probers': '{"/x":{}}' })).toThrow(UsageError);
    expect(() => mergedStatsFromFlags('wasmesh sidecar', { 'app-probers': '{"/x":{}}' })).toThrow(/--app-probers: "\/x": a prober path is/);
    expect(() => mergedStatsFromFlags('wasmesh sidecar', { 'merged-stats': 'off', 'app-probers': '{}' })).toThrow(/--app-probers goes with --merged-stats/);
  });
});
