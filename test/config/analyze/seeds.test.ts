// The seeds' YAML through every analyzer. examples/ holds each seed's files unchanged plus the
// ServiceEntry/WorkloadEntry file standing in for its Kubernetes Services: nothing to report at
// any level (seed 000's HTTPS variant once its secrets are given), but Istio's IST0140 warning on
// bookinfo's gateway route. test/config/fixtures holds seeds 002 and 003 as the articles give them, without
// their Kubernetes Services (those live in the cluster): every route host is then unknown, which
// is exactly what `istioctl analyze --use-kube=false` reports for these files — and nothing else.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatherFiles, readAnalysisInput } from '../../../host/config/analyze/analysis-input.js';
import { analyze } from '../../../host/config/analyze/analyze.js';
import { formatLog } from '../../../host/config/analyze/message.js';
import { leaf } from '../../helpers/test-certs.js';

function analyzeDir(dir: string, namespace = 'default', credentialsDir?: string): string[] {
  const input = readAnalysisInput(gatherFiles([dir]).files, { namespace });
  expect(input.parseErrors).toEqual([]);
  return analyze(input, { namespace, defaultNamespace: namespace, ...(credentialsDir !== undefined ? { credentialsDir } : {}) }).map(formatLog);
}

/** A --credentials-dir holding `names` as TLS secrets with a valid certificate. */
function credentialsDir(names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-seed-creds-'));
  for (const n of names) {
    mkdirSync(join(dir, n));
    writeFileSync(join(dir, n, 'tls.crt'), leaf().certPem);
    writeFileSync(join(dir, n, 'tls.key'), leaf().keyPem);
  }
  return dir;
}

describe('the seeds under wasmesh analyze', () => {
  it('examples/000-web-demo: its HTTPS variant\'s two secrets are missing without --credentials-dir, and nothing else', () => {
    const d = 'examples/000-web-demo';
    expect(analyzeDir(d)).toEqual([
      `Error [IST0101] (Gateway default/web-gateway ${d}/variants/05-web-gateway-https.yaml:41) Referenced credentialName not found: "web-credential"`,
      `Error [IST0101] (Gateway default/web-gateway ${d}/variants/05-web-gateway-https.yaml:51) Referenced credentialName not found: "partner-credential"`,
    ]);
    expect(analyzeDir(d, 'default', credentialsDir(['web-credential', 'partner-credential']))).toEqual([]);
  });

  it('examples/003-istio101 (with its variants and mtls files): no message at any level', () => {
    expect(analyzeDir('examples/003-istio101')).toEqual([]);
  });

  // The ingress gateway applies only the VirtualServices bound to it (wasmesh as Istio): the
  // productpage VirtualService's subset v1 does not apply to requests through the gateway.
  it('examples/002-bookinfo-rules: only Istio\'s IST0140 warning about the gateway route to productpage', () => {
    const d = 'examples/002-bookinfo-rules';
    expect(analyzeDir(d)).toEqual([
      `Warning [IST0140] (VirtualService default/bookinfo ${d}/virtual-service.yml:2) Subset in virtual service default/productpage has no effect on ingress gateway default/bookinfo requests`,
    ]);
  });

  it('seed 002 as written, in its namespace: the bookinfo hosts are not in the files (IST0101, IST0174), and IST0140', () => {
    const d = 'test/config/fixtures/seed-002';
    expect(analyzeDir(d, 'testing')).toEqual([
      `Error [IST0101] (VirtualService testing/bookinfo ${d}/virtual-service.yml:25) Referenced host not found: "productpage"`,
      `Error [IST0101] (VirtualService testing/details ${d}/virtual-service-all.yml:74) Referenced host not found: "details"`,
      `Error [IST0101] (VirtualService testing/productpage ${d}/virtual-service-all.yml:12) Referenced host not found: "productpage"`,
      `Error [IST0101] (VirtualService testing/ratings ${d}/virtual-service-all.yml:61) Referenced host not found: "ratings"`,
      `Error [IST0101] (VirtualService testing/reviews ${d}/virtual-service-all.yml:37) Referenced host not found: "reviews"`,
      `Error [IST0101] (VirtualService testing/reviews ${d}/virtual-service-all.yml:42) Referenced host not found: "reviews"`,
      `Error [IST0101] (VirtualService testing/reviews ${d}/virtual-service-all.yml:46) Referenced mirror host not found: "reviews"`,
      `Warning [IST0140] (VirtualService testing/bookinfo ${d}/virtual-service.yml:2) Subset in virtual service testing/productpage has no effect on ingress gateway testing/bookinfo requests`,
      `Warning [IST0174] (DestinationRule testing/details ${d}/destination-rule-all.yaml:64) The host details defined in the DestinationRule does not match any services in the mesh.`,
      `Warning [IST0174] (DestinationRule testing/productpage ${d}/destination-rule-all.yaml:2) The host productpage defined in the DestinationRule does not match any services in the mesh.`,
      `Warning [IST0174] (DestinationRule testing/ratings ${d}/destination-rule-all.yaml:44) The host ratings defined in the DestinationRule does not match any services in the mesh.`,
      `Warning [IST0174] (DestinationRule testing/reviews ${d}/destination-rule-all.yaml:27) The host reviews defined in the DestinationRule does not match any services in the mesh.`,
    ]);
  });

  it('seed 003 as written: the middleware host is not in the files, nothing else', () => {
    const d = 'test/config/fixtures/seed-003';
    expect(analyzeDir(d)).toEqual([
      `Error [IST0101] (VirtualService default/middleware ${d}/middleware.yaml:35) Referenced host not found: "middleware"`,
      `Error [IST0101] (VirtualService default/middleware ${d}/middleware.yaml:42) Referenced host not found: "middleware"`,
      `Warning [IST0174] (DestinationRule default/middleware ${d}/middleware.yaml:4) The host middleware defined in the DestinationRule does not match any services in the mesh.`,
    ]);
  });
});
