// The mTLS modes of bench:protocols (issue 15 with issue 13's mTLS): a **pair** of proxies in the
// path with Istio's mesh mTLS between them, for each plane, side by side in one run:
//   load → proxy A (plaintext in, ISTIO_MUTUAL out) → proxy B (STRICT mTLS in) → upstream (plaintext).
// One pair per mode and plane (B's first app port is the mode's upstream), all started before the
// rounds and idle while another is measured. One mesh CA and two workload certificates
// (bench-client for A, bench-app for B) serve every pair (bench/e2e/mtls-pair.ts). The wasmesh
// pair: mtls-wasmesh-pair.ts; the Envoy pair, from the repo's Envoy-plane translation of the same
// YAML: mtls-envoy-pair.ts; the YAML: mtls-mesh-yaml.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEnvoy } from '../../host/envoy/find-envoy.js';
import { freePort } from '../e2e/processes.js';
import { issuePairCertificates, type PairCertificates } from '../e2e/mtls-pair.js';
import { startEnvoyPair } from './mtls-envoy-pair.js';
import { mtlsPairMeshYaml, type MtlsHopProtocol } from './mtls-mesh-yaml.js';
import { startWasmeshPair } from './mtls-wasmesh-pair.js';
import type { ProxyName, RunningProxy } from './proxies.js';

export type MtlsMode = 'mtls-tcp-bytes' | 'mtls-http';
export const MTLS_MODES: readonly MtlsMode[] = ['mtls-tcp-bytes', 'mtls-http'];
/** The planes a pair exists for (the other --proxies variants are plaintext-gateway variants). */
export const MTLS_PLANES: readonly ProxyName[] = ['wasmesh', 'envoy'];

export const isMtlsMode = (mode: string): mode is MtlsMode => (MTLS_MODES as readonly string[]).includes(mode);

/** What the hop between A and B carries in each mode. */
const HOP: Record<MtlsMode, MtlsHopProtocol> = { 'mtls-tcp-bytes': 'TCP', 'mtls-http': 'HTTP' };

export class MtlsPairs {
  readonly #pairs = new Map<string, RunningProxy>();
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Starts a pair of each plane in `planes` (wasmesh, envoy) for each mode, to the mode's upstream
   * port; throws (after stopping what started) when one does not come up.
   */
  static async start(modes: readonly MtlsMode[], planes: readonly ProxyName[], upstreamPort: (mode: MtlsMode) => number, wasmeshNodeArgs: readonly string[]): Promise<MtlsPairs> {
    const pairs = new MtlsPairs(mkdtempSync(join(tmpdir(), 'wasmesh-mtls-pairs-')));
    try {
      const certs = await issuePairCertificates(join(pairs.#dir, 'certs'));
      for (const mode of modes) for (const plane of planes) await pairs.#startOne(mode, plane, upstreamPort(mode), certs, wasmeshNodeArgs);
      return pairs;
    } catch (err) {
      await pairs.stop();
      throw err;
    }
  }

  async #startOne(mode: MtlsMode, plane: ProxyName, appPort: number, certs: PairCertificates, nodeArgs: readonly string[]): Promise<void> {
    if (!MTLS_PLANES.includes(plane)) throw new Error(`mtls pairs: no ${plane} pair (pairs: ${MTLS_PLANES.join(', ')})`);
    const dir = join(this.#dir, `${mode}-${plane}`);
    const meshDir = join(dir, 'mesh');
    mkdirSync(meshDir, { recursive: true });
    const hop = HOP[mode];
    const inboundPort = await freePort();
    for (const [name, text] of Object.entries(mtlsPairMeshYaml(hop, { host: '127.0.0.1', port: inboundPort }))) writeFileSync(join(meshDir, name), text);
    const started = plane === 'envoy'
      ? await startEnvoyPair(findEnvoy()!, meshDir, dir, certs, appPort, inboundPort)
      : await startWasmeshPair(meshDir, certs, appPort, inboundPort, hop === 'TCP', nodeArgs);
    this.#pairs.set(`${mode}/${plane}`, { name: plane, httpPort: started.httpPort, tcpPort: started.tcpPort, pid: started.pids[0]!, pids: started.pids, stop: started.stop });
  }

  /** The pair of `plane` for `mode`; throws when none was started. */
  get(mode: MtlsMode, plane: ProxyName): RunningProxy {
    const p = this.#pairs.get(`${mode}/${plane}`);
    if (p === undefined) throw new Error(`mtls pairs: no ${plane} pair for ${mode}`);
    return p;
  }

  async stop(): Promise<void> {
    for (const p of this.#pairs.values()) await p.stop();
    this.#pairs.clear();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
