// A ProxyServer whose listener terminates TLS (STRICT mutual TLS, or PERMISSIVE) in front of the
// recording upstream, with openssl-made certificates (test/helpers/test-certs.ts), and a TLS
// client that sends one request and reads the answer or the failure.
import { connect, type TLSSocket } from 'node:tls';
import { ProxyServer } from '../../../host/server/proxy-server.js';
import type { AccessLogEntry } from '../../../host/telemetry/access-log.js';
import type { DownstreamTransportConfig } from '../../../host/tls/tls-settings.js';
import { mesh } from '../../helpers/mesh-fixtures.js';
import { leaf, meshRoot, type CertFiles } from '../../helpers/test-certs.js';
import { HOST, parseResponses, startRecordingUpstream, type ParsedResponse, type RecordingUpstream } from './wire-harness.js';

export interface TlsRig {
  proxy: ProxyServer;
  upstream: RecordingUpstream;
  logs: AccessLogEntry[];
  /** The operational log (handshake failures). */
  oplog: string[];
  /** The listener's own certificate (ns mesh, sa inbound). */
  server: CertFiles;
  close(): Promise<void>;
}

export async function startTlsRig(kind: 'tls' | 'permissive', over: { requireClientCertificate?: boolean; handshakeTimeoutMs?: number; minProtocolVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<TlsRig> {
  const upstream = await startRecordingUpstream();
  const server = leaf({ ns: 'mesh', sa: 'inbound' });
  const transport: DownstreamTransportConfig = {
    kind,
    tls: {
      certificateChain: server.cert,
      privateKey: server.key,
      caCertificates: meshRoot().cert,
      requireClientCertificate: over.requireClientCertificate ?? true,
      handshakeTimeoutMs: over.handshakeTimeoutMs,
      minProtocolVersion: over.minProtocolVersion,
    },
  };
  const logs: AccessLogEntry[] = [];
  const oplog: string[] = [];
  const proxy = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e), limits: { drainTimeoutMs: 100 }, seed: 1, downstreamTransport: transport, operationalLog: (_l, m) => oplog.push(m) });
  proxy.apply(mesh([{ name: 'backend', ports: [upstream.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]), 1);
  await proxy.listen();
  return {
    proxy, upstream, logs, oplog, server,
    close: async () => {
      await proxy.close();
      await upstream.close();
    },
  };
}

export interface TlsOutcome {
  /** The responses read (none when refused). */
  responses: ParsedResponse[];
  /** The client's error code, if the connection failed. */
  error: string | null;
  /** The handshake completed from the client's side. */
  secure: boolean;
  /** The handshake resumed a session (read at secureConnect). */
  reused: boolean;
  /** The session to resume with later (read before close). */
  session: Buffer | undefined;
  socket: TLSSocket;
}

/** One request over TLS (`connection: close`), with the client certificate given, verifying the server against the mesh root. */
export function tlsRequest(port: number, client: CertFiles | null, extraFields = '', opts: { ca?: Buffer; session?: Buffer; maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: opts.ca ?? meshRoot().certPem, cert: client?.certPem, key: client?.keyPem, session: opts.session, maxVersion: opts.maxVersion });
    let data = '';
    let secure = false;
    let reused = false;
    let session: Buffer | undefined;
    socket.on('session', (t: Buffer) => (session = t));
    let error: string | null = null;
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('secureConnect', () => {
      secure = true;
      reused = socket.isSessionReused();
      socket.write(`GET /hello HTTP/1.1\r\nHost: ${HOST}\r\n${extraFields}connection: close\r\n\r\n`);
    });
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ responses: parseResponses(data, true).responses, error, secure, reused, session, socket });
    });
  });
}

/** The value of a field in the request the upstream received (the last one), or null. */
export function upstreamField(up: RecordingUpstream, name: string): string | null {
  const req = up.requests.at(-1);
  if (!req) return null;
  const line = req.bytes.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line === undefined ? null : line.slice(name.length + 1).trim();
}
