// The secrets Istio's agent serves Envoy over SDS, from a workload certificate in hand: `default`
// (tls_certificate: the chain, leaf first, and its key) and `ROOTCA` (validation_context: the trust
// bundle), each an envoy.extensions.transport_sockets.tls.v3.Secret encoded by protobufjs, with a
// version that changes when its bytes do, so that a rotation pushes `default` (and `ROOTCA` only
// when the bundle changed).
import { createHash } from 'node:crypto';
import { envoyProtos, TYPE_URL } from './envoy-protos.js';
import { anyFromJson } from './proto-json.js';
import type { TypeSnapshot, XdsResource } from './snapshot.js';

/** Istio's names: the workload certificate and the trust bundle (pilot/pkg/model: SDSDefaultResourceName, SDSRootResourceName). */
export const SDS_DEFAULT = 'default';
export const SDS_ROOTCA = 'ROOTCA';

/** What the secrets are made of (a certificate client's Svid fits). */
export interface SecretMaterial {
  /** Leaf then intermediates, PEM. */
  readonly certChainPem: string;
  readonly keyPem: string;
  /** The trust bundle, one PEM per root. */
  readonly rootsPem: readonly string[];
}

const hash = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64url').slice(0, 16);
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function resource(name: string, json: Record<string, unknown>): XdsResource {
  const body = anyFromJson(envoyProtos(), TYPE_URL.secret, { name, ...json });
  return { name, version: hash(body.value), body };
}

/** The SDS snapshot for `m`: `default` and `ROOTCA`, never wildcard (Envoy names the secrets it wants). */
export function sdsSecrets(m: SecretMaterial): TypeSnapshot {
  if (m.rootsPem.length === 0) throw new Error('sds secrets: the trust bundle holds no root');
  const resources = [
    resource(SDS_DEFAULT, {
      tls_certificate: { certificate_chain: { inline_bytes: b64(m.certChainPem) }, private_key: { inline_bytes: b64(m.keyPem) } },
    }),
    resource(SDS_ROOTCA, { validation_context: { trusted_ca: { inline_bytes: b64(m.rootsPem.join('')) } } }),
  ];
  const version = hash(Buffer.from(resources.map((r) => `${r.name}\u0000${r.version}`).join('\u0001')));
  return { version, wildcard: false, resources: new Map(resources.map((r) => [r.name, r])) };
}
