// The parts of a demo's printout every scenario shares: one line per app with its sidecar (and
// the sidecar's admin API), the gateway and its admin API, the control plane, and the run
// folder; `wasmesh proxy-status` as something to try; and, with --mtls, how to see the mTLS.
import type { RunningScenario } from './scenario-mesh.js';
import { controlPlaneLines } from './demo-control-plane.js';

/** Lines describing where the running scenario's pieces listen. */
export function whereThingsRun(run: RunningScenario, gatewayNote: string, ownDir: boolean): string[] {
  const lines: string[] = [];
  const width = Math.max(...[...run.apps.keys()].map((w) => w.length), 'control plane'.length) + 2;
  for (const [workload, app] of run.apps) {
    const sidecar = run.sidecars.get(workload);
    if (sidecar?.inboundUrl !== undefined) {
      // strictMtls: the mesh reaches the app only through its sidecar's inbound port.
      lines.push(`  ${workload.padEnd(width)}${sidecar.inboundUrl} (sidecar inbound, mTLS only; the app behind it on :${app.port})   outbound ${sidecar.url}   admin ${sidecar.adminUrl}   ${sidecar.spiffeId}`);
      continue;
    }
    const tail = sidecar ? `   sidecar ${sidecar.url} (admin ${sidecar.adminUrl})` : '';
    lines.push(`  ${workload.padEnd(width)}http://127.0.0.1:${app.port}${tail}`);
  }
  lines.push(`  ${'gateway'.padEnd(width)}${run.gateway.url}/   ${gatewayNote}`);
  lines.push(`  ${'admin'.padEnd(width)}${run.gateway.adminUrl}/   (/ready /config_dump /stats /clusters${run.mtls ? ' /certs' : ''})${run.gateway.spiffeId ? `   ${run.gateway.spiffeId}` : ''}`);
  lines.push(...controlPlaneLines(run.controlPlane, width).where);
  if (run.mtls) lines.push(`  ${'CA'.padEnd(width)}${run.mtls.ca.address} (TLS, Istio's CSR API)   root ${run.mtls.ca.rootCertFile}   tokens ${run.runDir}/tokens/`);
  lines.push(`  ${'config folder'.padEnd(width)}${run.runDir}   (watched by the control plane: changes are pushed live${ownDir ? '; removed on exit' : ''})`);
  return lines;
}

/** How to see every proxy's sync state (`wasmesh proxy-status` against the demo's control plane). */
export function proxyStatusHint(run: RunningScenario): string[] {
  return controlPlaneLines(run.controlPlane, 0).tryIt;
}

/**
 * With --mtls: what is enforced, and how to see it on `callee` (a workload whose sidecar takes
 * calls from the mesh): its plaintext refusal and its certificate. `peers` says where the caller's
 * SPIFFE ID shows.
 */
export function strictMtlsHint(run: RunningScenario, policy: string, callee: string, peers: string[]): string[] {
  const sidecar = run.sidecars.get(callee)!;
  return [
    `Mesh-wide STRICT mTLS: ${run.mtls!.peerAuthentication} (${policy}), enforced: each app is reached only`,
    'through its sidecar\'s inbound port (its WorkloadEntry\'s, with serviceAccount and security.istio.io/tlsMode: istio),',
    'and every hop, the gateway\'s included, is mTLS with certificates from the control plane\'s CA.',
    '',
    ...peers,
    `${callee}'s sidecar refuses plaintext (no certificate, no entry: the connection is closed):`,
    `  curl -sv ${sidecar.inboundUrl}/`,
    `The workload certificate ${callee}'s sidecar holds (istioctl proxy-config secret):`,
    `  npx wasmesh proxy-config secret ${sidecar.admin}   (and -o json: subject_alt_names ${sidecar.spiffeId})`,
    '',
  ];
}
