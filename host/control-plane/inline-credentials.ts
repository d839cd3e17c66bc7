// A wasmesh gateway's view carries its TLS certificates inline (istiod sends a gateway's
// credentialName secrets over SDS; here they ride in wasmesh's own resource), so the proxy needs
// no access to the control plane's --credentials-dir. Read at each push of the view.
import { readFileSync } from 'node:fs';
import type { MeshConfig } from '../model/mesh.js';
import type { GatewayListener } from '../model/gateway-listener.js';

function read(path: string, what: string, server: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`Gateway server ${server}: ${what} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** `mesh` with every gateway server's certificate, key and CA files read into `inline` (a copy; `mesh` is shared). */
export function inlineGatewayCredentials(mesh: MeshConfig): MeshConfig {
  if (mesh.gatewayListeners === undefined) return mesh;
  const gatewayListeners: GatewayListener[] = mesh.gatewayListeners.map((l) => ({
    ...l,
    servers: l.servers.map((s) => {
      if (s.tls === null) return s;
      const c = s.tls.credential;
      const inline = {
        certificateChain: read(c.certificateChain, 'certificate', s.name),
        privateKey: read(c.privateKey, 'private key', s.name),
        caCertificates: c.caCertificates === null ? null : read(c.caCertificates, 'CA certificates', s.name),
      };
      return { ...s, tls: { ...s.tls, credential: { ...c, inline } } };
    }),
  }));
  return { ...mesh, gatewayListeners };
}
