// A Gateway's servers → the listeners its proxy serves (host/model/gateway-listener.ts): one per
// port, each server with its hosts and, for HTTPS, the TLS it terminates (mode, certificate files
// from credentialName or the Gateway's own paths, versions, ciphers, client SANs). Modes that
// are not terminated here (PASSTHROUGH, AUTO_PASSTHROUGH, ISTIO_MUTUAL) and fields not served are
// refused by security-checks.ts for every Gateway; this file locates what the served one lacks.
import { existsSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { GatewaySpec } from '../istio-schemas.js';
import { issueAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { ConfigIssue } from '../config-error.js';
import type { PathSegment } from '../yaml-source.js';
import { resolveCredentialFiles } from './credential-files.js';
import type { GatewayCredential, GatewayListener, GatewayServer, GatewayServerTls, GatewayTlsMode, TlsVersionName } from '../../model/gateway-listener.js';

type ServerSpec = GatewaySpec['servers'][number];
type ServerTlsSpec = NonNullable<ServerSpec['tls']>;

/** Server protocols whose requests are routed as HTTP once any TLS is terminated. */
export const GATEWAY_HTTP_PROTOCOLS = new Set(['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'GRPC-WEB']);

const TERMINATED = new Set<string>(['SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL']);

const VERSIONS: Record<string, TlsVersionName | null> = {
  TLS_AUTO: null,
  TLSV1_0: 'TLSv1',
  TLSV1_1: 'TLSv1.1',
  TLSV1_2: 'TLSv1.2',
  TLSV1_3: 'TLSv1.3',
};
const ORDER: readonly TlsVersionName[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

export interface GatewayTlsContext {
  issues: ConfigIssue[];
  /** LoadOptions.credentialsDir. */
  credentialsDir: string | undefined;
}

/** Whether a server (of an HTTP-like protocol) is served: plaintext, or TLS terminated here. */
export function isServedServer(server: ServerSpec): boolean {
  if (!GATEWAY_HTTP_PROTOCOLS.has(server.port.protocol.toUpperCase())) return false;
  const mode = server.tls?.mode;
  return hasTlsSettings(server.tls) ? mode !== undefined && TERMINATED.has(mode) : true;
}

/** Anything beyond httpsRedirect asks for TLS on the port. */
export function hasTlsSettings(tls: ServerTlsSpec | undefined): boolean {
  return tls !== undefined && Object.keys(tls).some((k) => k !== 'httpsRedirect');
}

/** The listeners of `gateway`, in port order; problems go to `ctx.issues`, located. */
export function gatewayListeners(gateway: SourcedResource, ctx: GatewayTlsContext): GatewayListener[] {
  const spec = gateway.resource.spec as GatewaySpec;
  const byPort = new Map<number, Array<{ server: GatewayServer; index: number; grpcWeb: boolean }>>();
  spec.servers.forEach((server, i) => {
    if (!isServedServer(server)) return; // warned (protocol) or refused (mode) elsewhere
    const path: PathSegment[] = ['spec', 'servers', i];
    const tls = hasTlsSettings(server.tls) ? serverTls(server.tls!, gateway, [...path, 'tls'], ctx) : null;
    if (hasTlsSettings(server.tls) && tls === null) return;
    const protocol = server.port.protocol.toUpperCase();
    if (protocol === 'HTTPS' && tls === null) {
      ctx.issues.push(issueAt(gateway.ref, 'missing_field', [...path, 'tls'], `an HTTPS server on port ${server.port.number} needs tls (mode SIMPLE or MUTUAL and a certificate)`));
      return;
    }
    const built: GatewayServer = {
      name: server.name ?? `${gateway.resource.namespace}/${gateway.resource.name}/${i}`,
      hosts: server.hosts.map((h) => {
        const slash = h.indexOf('/');
        return (slash < 0 ? h : h.slice(slash + 1)).toLowerCase();
      }),
      tls,
      httpsRedirect: server.tls?.httpsRedirect === true && tls === null,
    };
    const list = byPort.get(server.port.number) ?? [];
    list.push({ server: built, index: i, grpcWeb: protocol === 'GRPC-WEB' });
    byPort.set(server.port.number, list);
  });
  const listeners: GatewayListener[] = [];
  for (const [port, servers] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const tlsCount = servers.filter((s) => s.server.tls !== null).length;
    if (tlsCount !== 0 && tlsCount !== servers.length) {
      const plain = servers.find((s) => s.server.tls === null)!;
      ctx.issues.push(issueAt(gateway.ref, 'invalid_value', ['spec', 'servers', plain.index, 'port', 'number'], `port ${port} has both TLS and plaintext servers; a port serves one or the other`));
      continue;
    }
    const grpcWeb = servers.some((s) => s.grpcWeb);
    listeners.push({ port, tls: tlsCount > 0, servers: servers.map((s) => s.server), ...(grpcWeb ? { grpcWeb } : {}) });
  }
  return listeners;
}

function serverTls(tls: ServerTlsSpec, gateway: SourcedResource, path: PathSegment[], ctx: GatewayTlsContext): GatewayServerTls | null {
  const mode = tls.mode as GatewayTlsMode;
  const credential = credentialOf(tls, mode, gateway, path, ctx);
  const min = VERSIONS[tls.minProtocolVersion ?? 'TLS_AUTO'] ?? 'TLSv1.2';
  const max = VERSIONS[tls.maxProtocolVersion ?? 'TLS_AUTO'] ?? 'TLSv1.3';
  let ok = credential !== null;
  if (ORDER.indexOf(min) > ORDER.indexOf(max)) {
    ctx.issues.push(issueAt(gateway.ref, 'invalid_value', [...path, 'maxProtocolVersion'], `maxProtocolVersion ${tls.maxProtocolVersion} is below minProtocolVersion ${tls.minProtocolVersion}`));
    ok = false;
  }
  const ciphers = tls.cipherSuites ?? [];
  ciphers.forEach((c, i) => {
    try {
      createSecureContext({ ciphers: c });
    } catch {
      ctx.issues.push(issueAt(gateway.ref, 'invalid_value', [...path, 'cipherSuites', i], `"${c}" is not a cipher suite OpenSSL knows (for example ECDHE-ECDSA-AES128-GCM-SHA256)`));
      ok = false;
    }
  });
  if (mode === 'SIMPLE' && (tls.subjectAltNames ?? []).length > 0) {
    ctx.issues.push(issueAt(gateway.ref, 'invalid_value', [...path, 'subjectAltNames'], 'subjectAltNames checks client certificates, which mode SIMPLE does not ask for (use MUTUAL)'));
    ok = false;
  }
  if (!ok || credential === null) return null;
  return { mode, credential, minProtocolVersion: min, maxProtocolVersion: max, cipherSuites: ciphers, subjectAltNames: tls.subjectAltNames ?? [] };
}

/** From credentialName (in --credentials-dir), else the Gateway's own file paths. */
function credentialOf(tls: ServerTlsSpec, mode: GatewayTlsMode, gateway: SourcedResource, path: PathSegment[], ctx: GatewayTlsContext): GatewayCredential | null {
  const clientCa = mode === 'SIMPLE' ? 'none' : 'required';
  if (tls.credentialName !== undefined) {
    const r = resolveCredentialFiles(tls.credentialName, ctx.credentialsDir, { keyPair: true, ca: clientCa });
    if (!r.ok) {
      ctx.issues.push(issueAt(gateway.ref, 'invalid_value', [...path, 'credentialName'], r.reason));
      return null;
    }
    return { name: r.files.name, certificateChain: r.files.certificateChain!, privateKey: r.files.privateKey!, caCertificates: r.files.caCertificates };
  }
  const missing: string[] = [];
  if (tls.serverCertificate === undefined) missing.push('serverCertificate');
  if (tls.privateKey === undefined) missing.push('privateKey');
  if (clientCa === 'required' && tls.caCertificates === undefined) missing.push('caCertificates');
  if (missing.length > 0) {
    ctx.issues.push(issueAt(gateway.ref, 'missing_field', path, `mode ${mode} needs credentialName, or ${missing.join(' and ')}`));
    return null;
  }
  const files: Array<[string, string | undefined]> = [['serverCertificate', tls.serverCertificate], ['privateKey', tls.privateKey], ['caCertificates', clientCa === 'none' ? undefined : tls.caCertificates]];
  for (const [field, file] of files) {
    if (file !== undefined && !existsSync(file)) {
      ctx.issues.push(issueAt(gateway.ref, 'invalid_value', [...path, field], `${file} does not exist`));
      return null;
    }
  }
  return { name: null, certificateChain: tls.serverCertificate!, privateKey: tls.privateKey!, caCertificates: clientCa === 'none' ? null : tls.caCertificates! };
}
