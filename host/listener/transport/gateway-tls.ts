// The ingress gateway's downstream transport for one Gateway port (host/model/gateway-listener.ts):
// plaintext, or TLS terminated by the server the client's SNI names (Envoy's filter chain per
// server_names: exact host, then the longest `*.suffix`, then `*`; no SNI takes the `*` server).
// The SNI is read from the ClientHello before the handshake, as Envoy's tls_inspector, and the
// socket handed to that server's own tls.Server (its certificate, client CA, versions, ciphers);
// an SNI no server claims is refused there (no_filter_chain_match), before any handshake.
// MUTUAL requires a client certificate from the server's CA (and one of its subjectAltNames when
// given); OPTIONAL_MUTUAL checks one when presented. The settings follow the config: apply()
// builds the new TLS server (files read then; a bad file throws and the old one keeps serving),
// and connections already open keep the one they were accepted with.
import { createServer, type Server, type TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import type { Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type { Log } from '../../common/log.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import { readPem } from '../../tls/pem-files.js';
import { tlsFailureReason, type TlsFailureReason } from '../../tls/handshake-failure.js';
import { xfccElement, type ConnectionSecurity } from '../../tls/connection-security.js';
import { spiffeIdOf, certificateHash, subjectAltNames } from '../../tls/peer-certificate.js';
import { sanMatches } from '../../tls/san-match.js';
import type { GatewayListener, GatewayServer } from '../../model/gateway-listener.js';
import { SOCKET_TAKEN, type ConnectionStart, type DownstreamTransport } from './downstream-transport.js';
import { RAW_DOWNSTREAM } from './raw.js';
import { clientHelloSni, MAX_HELLO_RECORD } from '../../tls/client-hello-sni.js';
import { WatchedCredential } from '../../tls/watched-credential.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;
const START = Symbol('wasmesh.gateway.start');

interface PendingSocket extends Socket {
  [START]?: ConnectionStart;
}

/** One server of the port with its TLS context (Envoy: one filter chain). */
export interface ChainState {
  readonly server: GatewayServer;
  /** Replaced when its certificate files are rewritten (connections open keep theirs). */
  tlsServer: Server;
}

/** The servers of a port by the SNI they answer: exact, `*.suffix` (longest first), `*`. */
export class SniTable<T> {
  readonly #exact = new Map<string, T>();
  readonly #suffixes: Array<[string, T]> = [];
  #any: T | null = null;

  add(host: string, value: T): void {
    if (host === '*') this.#any ??= value;
    else if (host.startsWith('*.')) this.#suffixes.push([host.slice(1), value]);
    else if (!this.#exact.has(host)) this.#exact.set(host, value);
    this.#suffixes.sort((a, b) => b[0].length - a[0].length);
  }

  /** The value for `sni` (lower-cased); null or '' (no SNI) takes `*`. */
  find(sni: string | null): T | null {
    if (sni === null || sni === '') return this.#any;
    const name = sni.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    // `*.example.com` matches `a.example.com` and `a.b.example.com` (Envoy's server_names).
    for (const [suffix, v] of this.#suffixes) if (name.endsWith(suffix) && name.length > suffix.length) return v;
    return this.#any;
  }
}

interface TlsState {
  readonly table: SniTable<ChainState>;
  /** The certificate files' watches (files from the gateway's own directory, not inline ones). */
  readonly watches: WatchedCredential[];
}

export class GatewayDownstreamTransport implements DownstreamTransport {
  #state: TlsState | null = null;
  #listener: GatewayListener | null = null;
  readonly #pending = new Set<Socket>();
  readonly #stats: Pick<StatScope<DownstreamStat>, 'inc'>;
  readonly #log: Log | undefined;
  /** Shared by every TLS server this transport builds (and by the worker threads), so sessions resume across config versions. */
  readonly #ticketKeys: Buffer;

  constructor(stats: Pick<StatScope<DownstreamStat>, 'inc'>, log?: Log, sessionTicketKeys?: string) {
    this.#stats = stats;
    this.#log = log;
    this.#ticketKeys = sessionTicketKeys === undefined ? randomBytes(48) : Buffer.from(sessionTicketKeys, 'base64');
  }

  get kind(): 'raw' | 'tls' {
    return this.#state === null ? 'raw' : 'tls';
  }

  /** The port's settings now; null: plaintext. */
  get listener(): GatewayListener | null {
    return this.#listener;
  }

  /**
   * Builds what `listener` needs, reading its certificate files; throws (TLS_FILE, or
   * TLS_CREDENTIAL naming the server) leaving the current settings in place. Returns the swap.
   */
  prepare(listener: GatewayListener | null): () => void {
    if (listener === null || !listener.tls) {
      return () => {
        this.#unwatch();
        this.#state = null;
        this.#listener = listener;
      };
    }
    const table = new SniTable<ChainState>();
    const chains: ChainState[] = [];
    for (const server of listener.servers) {
      const chain: ChainState = { server, tlsServer: this.#serverFor(server, listener.port) };
      chains.push(chain);
      for (const host of server.hosts) table.add(host, chain);
    }
    return () => {
      this.#unwatch();
      const watches: WatchedCredential[] = [];
      for (const chain of chains) {
        const c = chain.server.tls!.credential;
        if (c.inline !== undefined) continue;
        const files = [c.certificateChain, c.privateKey, ...(c.caCertificates === null ? [] : [c.caCertificates])];
        try {
          watches.push(new WatchedCredential(files, () => this.#reload(chain, listener.port)));
        } catch (err) {
          this.#log?.('warn', `gateway server ${chain.server.name}: certificate files not watched (${(err as Error).message}); a rewrite applies at the next config change`);
        }
      }
      this.#state = { table, watches };
      this.#listener = listener;
    };
  }

  /**
   * The server's files were rewritten: new connections get a context built from them; a rewrite
   * that does not load (no PEM, key not matching the certificate, half written) is refused and
   * logged, and the previous context keeps serving.
   */
  #reload(chain: ChainState, port: number): void {
    try {
      chain.tlsServer = this.#serverFor(chain.server, port);
      this.#log?.('info', `gateway server ${chain.server.name}: certificate files changed; new connections use them`);
    } catch (err) {
      this.#log?.('warn', `gateway server ${chain.server.name}: certificate files changed but do not load, the previous certificate keeps serving: ${(err as Error).message}`);
    }
  }

  #unwatch(): void {
    for (const w of this.#state?.watches ?? []) w.close();
  }

  /** One server's tls.Server: its certificate, client CA, versions and ciphers (files read now). */
  #serverFor(server: GatewayServer, port: number): Server {
    const tls = server.tls!;
    const c = tls.credential;
    let tlsServer: Server;
    try {
      tlsServer = createServer({
        cert: c.inline?.certificateChain ?? readPem(c.certificateChain, 'certificateChain'),
        key: c.inline?.privateKey ?? readPem(c.privateKey, 'privateKey'),
        ca: tls.mode === 'SIMPLE' ? undefined : (c.inline?.caCertificates ?? (c.caCertificates === null ? undefined : readPem(c.caCertificates, 'caCertificates'))),
        requestCert: tls.mode !== 'SIMPLE',
        // Checked in #secured, so that a refusal is counted with its reason.
        rejectUnauthorized: false,
        minVersion: tls.minProtocolVersion,
        maxVersion: tls.maxProtocolVersion,
        ciphers: tls.cipherSuites.length > 0 ? tls.cipherSuites.join(':') : undefined,
        ALPNProtocols: ['h2', 'http/1.1'],
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        ticketKeys: this.#ticketKeys,
        // A session resumes only on the server (and settings) it was made under.
        sessionIdContext: createHash('sha256').update(`${port}/${server.name}/${tls.mode}`).digest('hex').slice(0, 32),
      });
    } catch (err) {
      throw new Error(`wasmesh: gateway server ${server.name} (credential ${c.name ?? c.certificateChain}): ${(err as Error).message} (TLS_CREDENTIAL)`);
    }
    const chain = server;
    tlsServer.on('secureConnection', (s: TLSSocket) => {
      try {
        this.#secured(s, chain);
      } catch (err) {
        this.#fail(s, 'ssl.connection_error', `peer certificate unreadable: ${(err as Error).message}`);
      }
    });
    tlsServer.on('tlsClientError', (err: Error, s: TLSSocket) => this.#fail(s, tlsFailureReason(err), err.message));
    return tlsServer;
  }

  accept(accepted: Socket, start: ConnectionStart): void {
    const state = this.#state;
    if (state === null) return RAW_DOWNSTREAM.accept(accepted, start);
    (accepted as PendingSocket)[START] = start;
    accepted.setNoDelay(true);
    this.#pending.add(accepted);
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      this.#stats.inc('downstream_pre_cx_timeout');
      done();
      accepted.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      this.#pending.delete(accepted);
      accepted.off('readable', onReadable);
      accepted.off('close', done);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = accepted.read() as Buffer | null) !== null) seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const hello = clientHelloSni(seen);
      if (hello.kind === 'more' && seen.length < MAX_HELLO_RECORD) return;
      done();
      if (hello.kind !== 'hello') {
        this.#stats.inc('ssl.connection_error');
        this.#log?.('warn', `downstream tls on gateway port ${this.#listener?.port}: from ${accepted.remoteAddress}: not a TLS ClientHello; closed`);
        accepted.destroy();
        return;
      }
      const chain = state.table.find(hello.name);
      if (chain === null) {
        this.#stats.inc('no_filter_chain_match');
        this.#log?.('warn', `downstream tls on gateway port ${this.#listener?.port}: SNI "${hello.name ?? ''}" matches no server's hosts; refused`);
        accepted.destroy();
        return;
      }
      accepted.unshift(seen);
      chain.tlsServer.emit('connection', accepted);
    };
    accepted.on('readable', onReadable);
    accepted.once('close', done);
    accepted.on('error', () => accepted.destroy());
  }

  #secured(s: TLSSocket, server: GatewayServer): void {
    const start = ((s as unknown as { _parent?: PendingSocket })._parent ?? (s as PendingSocket))[START];
    const sni = (s as TLSSocket & { servername?: string | false }).servername || null;
    const tls = server.tls!;
    const peer = s.getPeerCertificate(false) as DetailedPeerCertificate | Record<string, never>;
    const hasCert = peer !== null && 'raw' in peer && peer.raw !== undefined;
    if (tls.mode === 'MUTUAL' && !hasCert) return this.#fail(s, 'ssl.fail_verify_no_cert', `client certificate required by server ${server.name}, none presented`);
    const checked = tls.mode !== 'SIMPLE' && hasCert;
    if (checked && !s.authorized) return this.#fail(s, 'ssl.fail_verify_error', `client certificate ${describePeer(peer as DetailedPeerCertificate)} rejected: ${String(s.authorizationError)}`);
    if (checked && tls.subjectAltNames.length > 0) {
      const sans = subjectAltNames(peer as DetailedPeerCertificate);
      if (!sanMatches(tls.subjectAltNames, sans)) return this.#fail(s, 'ssl.fail_verify_san', `client certificate ${describePeer(peer as DetailedPeerCertificate)} carries none of ${tls.subjectAltNames.join(', ')}`);
    }
    if (start === undefined) {
      s.destroy();
      return;
    }
    this.#stats.inc('ssl.handshake');
    if (s.isSessionReused()) this.#stats.inc('ssl.session_reused');
    const security: ConnectionSecurity = {
      mutualTls: checked,
      tls: true,
      peerSpiffeId: checked ? spiffeIdOf(peer) : null,
      peerCertificateHash: hasCert ? certificateHash(peer as DetailedPeerCertificate) : null,
      tlsVersion: s.getProtocol(),
      alpn: s.alpnProtocol || null,
      sni,
      // SANITIZE_SET (Istio's gateway): what came in is dropped, the verified client's element set.
      xfcc: checked ? xfccElement(null, peer as DetailedPeerCertificate) : null,
      xfccSanitize: true,
      serverHosts: server.hosts,
    };
    const reader = start(s, security);
    if (reader !== SOCKET_TAKEN) s.on('data', (d: Buffer) => reader.onRead(d));
  }

  #fail(s: TLSSocket | undefined, reason: TlsFailureReason, message: string): void {
    this.#stats.inc(reason);
    this.#log?.('warn', `downstream tls handshake from ${s?.remoteAddress ?? 'unknown'} failed: ${reason}: ${message}`);
    s?.destroy();
  }

  close(): void {
    this.#unwatch();
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
  }
}

function describePeer(peer: DetailedPeerCertificate): string {
  const sans = subjectAltNames(peer);
  return sans.uris[0] ?? sans.dns[0] ?? '(no SAN)';
}
