// Test helper: writes YAML into a fresh temp folder so each test controls exact line numbers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempYaml(files: Record<string, string>): { dir: string; path: (name: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, path: (name) => join(dir, name) };
}

export const WEB_SERVICE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: web
spec:
  hosts: [web]
  ports:
  - {number: 5005, name: http, protocol: HTTP}
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector:
    labels: {app: web}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: web-v1}
spec:
  address: 127.0.0.1
  labels: {app: web, version: v1}
  ports: {http: 15101}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: web-v2}
spec:
  address: 127.0.0.1
  labels: {app: web, version: v2}
  ports: {http: 15102}
`;
