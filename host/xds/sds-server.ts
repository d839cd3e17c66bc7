// SDS for a local Envoy, as Istio's agent serves it: envoy.service.secret.v3.SecretDiscoveryService
// StreamSecrets (and FetchSecrets, one request answered once) on a Unix domain socket, every connecting Envoy given the same secrets (this
// agent's workload certificate and trust bundle). The streams are the ADS server's (state of the
// world, ACK/NACK, nonces, partial pushes of named resources) in its `secret` variant, where a
// secret that does not exist (yet) is not answered: Envoy waits for it, as it does for Istio's
// agent before the first certificate is issued. setSecrets() pushes what changed to every stream.
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { AdsServer, type AdsEvents } from './ads-server.js';
import { TYPE_URL } from './envoy-protos.js';
import { SnapshotCache, type TypeSnapshot } from './snapshot.js';
import type { ProxySync } from './sync-status.js';

/** The longest path a Unix socket address takes (sun_path is 108 bytes on Linux, NUL included). */
export const MAX_SOCKET_PATH_BYTES = 107;

export class SdsServer {
  readonly #cache = new SnapshotCache();
  readonly #ads: AdsServer;
  /** Node ids with an open stream: each gets the current secrets. */
  readonly #nodes = new Set<string>();
  #secrets: TypeSnapshot | null = null;
  #path: string | null = null;

  constructor(events?: AdsEvents) {
    this.#ads = new AdsServer({
      service: 'secret',
      cache: this.#cache,
      connect: (node) => {
        this.#nodes.add(node.id);
        this.#cache.set(node.id, this.#snapshot());
      },
      disconnect: (node) => {
        this.#nodes.delete(node.id);
        this.#cache.delete(node.id);
      },
      servesType: (_node, typeUrl) => typeUrl === TYPE_URL.secret,
      fetch: () => this.#secrets ?? undefined,
      events,
    });
  }

  #snapshot(): Map<string, TypeSnapshot> {
    return this.#secrets === null ? new Map() : new Map([[TYPE_URL.secret, this.#secrets]]);
  }

  /** The secrets to serve from now on; streams are pushed the ones that changed. */
  setSecrets(secrets: TypeSnapshot): void {
    this.#secrets = secrets;
    for (const id of this.#nodes) this.#cache.set(id, this.#snapshot());
  }

  /**
   * Listens on the Unix socket at `path` (mode 0660), creating its directory (0750) and removing a
   * socket left by an earlier run; anything else at the path is refused, never deleted.
   */
  async listen(path: string): Promise<void> {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`wasmesh: the SDS socket path ${path} is ${Buffer.byteLength(path)} bytes, more than a Unix socket takes (${MAX_SOCKET_PATH_BYTES}): choose a shorter directory (LISTEN_FAILED)`);
    }
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    let existing: ReturnType<typeof statSync> | undefined;
    try {
      existing = statSync(path);
    } catch {
      existing = undefined;
    }
    if (existing !== undefined) {
      if (!existing.isSocket()) throw new Error(`wasmesh: cannot listen for SDS on ${path}: something other than a socket is there (LISTEN_FAILED)`);
      rmSync(path);
    }
    await this.#ads.listenUnix(path);
    this.#path = path;
    // Whoever can connect gets the workload's private key: the owner and its group only (Envoy
    // runs as the agent's user, or in its group), whatever the umask.
    chmodSync(path, 0o660);
  }

  /** Connected Envoys with what they were sent and ACKed. */
  proxies(): ProxySync[] {
    return this.#ads.proxies();
  }

  async close(): Promise<void> {
    await this.#ads.close();
    if (this.#path !== null) rmSync(this.#path, { force: true });
    this.#path = null;
  }
}
