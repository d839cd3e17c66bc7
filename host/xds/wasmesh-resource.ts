// wasmesh's own xDS resource type: one resource per proxy, the resolved mesh that proxy serves
// (what `wasmesh proxy -f` resolves from the files itself), packed with msgpackr. It travels in
// a google.protobuf.Any on the same ADS stream as Envoy's types, ACKed and NACKed like them.
import { pack, unpack } from 'msgpackr';
import type { MeshConfig } from '../model/mesh.js';

export const WASMESH_TYPE_URL = 'type.googleapis.com/wasmesh.v1.ProxyConfig';
/** The one resource's name. */
export const WASMESH_RESOURCE_NAME = 'proxy';

export interface WasmeshProxyConfig {
  /** The control plane's config version this mesh was resolved from. */
  version: string;
  mesh: MeshConfig;
  /** What the control plane warned about for this proxy's view. */
  warnings: string[];
}

export class WasmeshResourceError extends Error {
  readonly code = 'WASMESH_RESOURCE_INVALID';
  constructor(detail: string) {
    super(`wasmesh xDS resource: ${detail} (WASMESH_RESOURCE_INVALID)`);
    this.name = 'WasmeshResourceError';
  }
}

export function encodeProxyConfig(c: WasmeshProxyConfig): Uint8Array {
  return pack(c);
}

/** Decodes and checks the shape (a malformed resource is NACKed with this error's message). */
export function decodeProxyConfig(bytes: Uint8Array): WasmeshProxyConfig {
  let v: unknown;
  try {
    v = unpack(bytes);
  } catch (err) {
    throw new WasmeshResourceError(`not msgpack: ${(err as Error).message}`);
  }
  const c = v as Partial<WasmeshProxyConfig> | null;
  if (!c || typeof c !== 'object') throw new WasmeshResourceError('not an object');
  if (typeof c.version !== 'string') throw new WasmeshResourceError('version is not a string');
  if (!c.mesh || !Array.isArray(c.mesh.virtualHosts) || !Array.isArray(c.mesh.clusters)) throw new WasmeshResourceError('mesh lacks virtualHosts or clusters');
  if (!Array.isArray(c.warnings)) throw new WasmeshResourceError('warnings is not a list');
  return c as WasmeshProxyConfig;
}
