// One loaded version of the authorization table inside a Core (assembly/authz/): copies the
// compiled bytes in, has the core check them once, and asks the core per request. Reference
// counted like the route table, so a request keeps the version it started on. The per-core
// attribute region (what the request view does not hold: peer identity, addresses, the JWT's
// attributes) and result region are allocated once per core and shared by every version.
import type { Core, CoreExports } from '../wasm.js';
import { requestViewOf } from '../request-view.js';
import type { RequestAuth } from '../../model/request-auth.js';
import { writeIpBytes } from '../../common/ip-bytes.js';

/** The authorization exports of core.wasm (assembly/authz/index.ts). */
interface AuthzExports extends CoreExports {
  authz_table_check(table: number, len: number): number;
  authz_evaluate(table: number, req: number, attrs: number, res: number): number;
  authz_evaluate_connection(table: number, attrs: number, res: number): number;
  authz_layout(which: number): number;
}

/** Mirrors AuthzStatus in assembly/authz/table.ts. */
export const AuthzTableStatus = { Ok: 0, BadLength: -1, BadMagic: -2, BadFormat: -3, Corrupt: -4, Unsupported: -5 } as const;

export type AuthzTableErrorCode = 'bad_length' | 'bad_magic' | 'bad_format' | 'corrupt' | 'unsupported' | 'released';

const STATUS_CODE: Record<number, AuthzTableErrorCode> = {
  [AuthzTableStatus.BadLength]: 'bad_length',
  [AuthzTableStatus.BadMagic]: 'bad_magic',
  [AuthzTableStatus.BadFormat]: 'bad_format',
  [AuthzTableStatus.Corrupt]: 'corrupt',
  [AuthzTableStatus.Unsupported]: 'unsupported',
};

const STATUS_REASON: Record<AuthzTableErrorCode, string> = {
  bad_length: 'the table is shorter than its header or its recorded length differs',
  bad_magic: 'the bytes are not an authorization table (magic "WMAZ" missing)',
  bad_format: 'the table was written for another format version than this core reads',
  corrupt: 'a section, record, string or index lies outside the table, or a record is malformed',
  unsupported: 'the table uses an action, attribute or value kind this core does not implement',
  released: 'the authorization table version was already released',
};

export class AuthzTableError extends Error {
  readonly code: AuthzTableErrorCode;
  readonly status: number;
  constructor(code: AuthzTableErrorCode, status: number, detail: string) {
    super(`authorization table ${detail}: ${STATUS_REASON[code]} (${code})`);
    this.name = 'AuthzTableError';
    this.code = code;
    this.status = status;
  }
}

// Attribute codes (assembly/authz/table.ts Attr; host/compile/authorization.ts ATTR).
export const A_SOURCE_PRINCIPAL = 0;
export const A_SOURCE_NAMESPACE = 1;
export const A_SOURCE_IP = 2;
export const A_REMOTE_IP = 3;
export const A_AUTH_PRINCIPAL = 4;
export const A_AUTH_AUDIENCES = 5;
export const A_AUTH_PRESENTER = 6;
export const A_AUTH_CLAIMS = 7;
export const A_DESTINATION_IP = 12;
export const A_DESTINATION_PORT = 13;
export const A_CONNECTION_SNI = 14;

// Evaluation bits and result region (assembly/authz/evaluate.ts).
export const EV_DENIED = 1;
export const EV_CUSTOM = 2;
export const EV_SHADOW_ALLOWED = 4;
export const EV_SHADOW_DENIED = 8;
export const EV_AUDIT = 16;
const RS_POLICY = 1;
const RS_RULE = 2;
const RS_CUSTOM_POLICY = 3;
const RS_CUSTOM_RULE = 4;
const RS_SHADOW_POLICY = 6;
const RS_SHADOW_RULE = 7;
const RS_AUDIT_POLICY = 8;
const RS_AUDIT_RULE = 9;
const RS_SIZE = 40;

// Attribute region (assembly/authz/attributes.ts).
const AT_ENTRIES = 8;
const AT_ENTRY = 12;
const AT_MAX_ENTRIES = 256;
const AT_BYTES_OFF = AT_ENTRIES + AT_MAX_ENTRIES * AT_ENTRY;
const AT_BYTES = 32 * 1024;
const AT_SIZE = AT_BYTES_OFF + AT_BYTES;

const encoder = new TextEncoder();

/**
 * The request's attributes beyond the request view, written into the core's attribute region:
 * begin(), then one call per value, then the table's evaluate(). Returns false from a writer
 * when the region is full; the caller must then treat the request as not authorized (an
 * attribute left out could turn a DENY into no match).
 */
export class AuthzAttributes {
  readonly base: number;
  readonly result: number;
  readonly #core: Core;
  #count = 0;
  #cursor = 0;
  #overflow = false;

  constructor(core: Core) {
    const x = core.exports as AuthzExports;
    if (x.authz_layout(0) !== AT_SIZE || x.authz_layout(1) !== AT_MAX_ENTRIES || x.authz_layout(2) !== AT_BYTES_OFF || x.authz_layout(3) !== AT_BYTES || x.authz_layout(4) !== RS_SIZE) {
      throw new Error('wasmesh: host/core/authz/authz-table.ts and assembly/authz disagree on the attribute or result layout');
    }
    this.#core = core;
    this.base = x.alloc(AT_SIZE);
    this.result = x.alloc(RS_SIZE);
    this.begin();
  }

  /** Starts a request: no attribute. */
  begin(): void {
    this.#count = 0;
    this.#cursor = this.base + AT_BYTES_OFF;
    this.#overflow = false;
    this.#core.u32[this.base >>> 2] = 0;
  }

  /** A value did not fit: the request must be refused (fail closed). */
  get overflow(): boolean {
    return this.#overflow;
  }

  #entry(key: number, ptr: number, len: number): boolean {
    if (this.#count >= AT_MAX_ENTRIES) {
      this.#overflow = true;
      return false;
    }
    const u32 = this.#core.u32;
    const e = (this.base + AT_ENTRIES + this.#count * AT_ENTRY) >>> 2;
    u32[e] = key;
    u32[e + 1] = ptr;
    u32[e + 2] = len;
    u32[this.base >>> 2] = ++this.#count;
    return true;
  }

  /** A string value of attribute `attr` (| claim index << 8 for claims). */
  string(attr: number, s: string): boolean {
    const u8 = this.#core.u8;
    const start = this.#cursor;
    const end = this.base + AT_SIZE;
    const n = s.length;
    if (n <= end - start) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        u8[start + i] = c;
      }
      if (i === n) {
        this.#cursor = start + n;
        return this.#entry(attr, start, n);
      }
    }
    const { read, written } = encoder.encodeInto(s, u8.subarray(start, end));
    if (read !== n) {
      this.#overflow = true;
      return false;
    }
    this.#cursor = start + written;
    return this.#entry(attr, start, written);
  }

  /** An address attribute from its text; a text that is no address writes nothing (absent). */
  ip(attr: number, s: string): boolean {
    const start = this.#cursor;
    if (start + 16 > this.base + AT_SIZE) {
      this.#overflow = true;
      return false;
    }
    const n = writeIpBytes(s, this.#core.u8, start);
    if (n === 0) return true;
    this.#cursor = start + n;
    return this.#entry(attr, start, n);
  }

  /** destination.port. */
  port(port: number): boolean {
    const start = (this.#cursor + 3) & ~3;
    if (start + 4 > this.base + AT_SIZE) {
      this.#overflow = true;
      return false;
    }
    this.#core.u32[start >>> 2] = port >>> 0;
    this.#cursor = start + 4;
    return this.#entry(A_DESTINATION_PORT, start, 4);
  }

  /** request.auth.* that the table reads (`mask`), from the verified JWT. */
  requestAuth(auth: RequestAuth, mask: number, claimPaths: ReadonlyArray<readonly string[]>): boolean {
    let ok = true;
    if ((mask & (1 << A_AUTH_PRINCIPAL)) !== 0) ok = this.string(A_AUTH_PRINCIPAL, auth.principal) && ok;
    if ((mask & (1 << A_AUTH_AUDIENCES)) !== 0) for (let i = 0; i < auth.audiences.length; i++) ok = this.string(A_AUTH_AUDIENCES, auth.audiences[i]!) && ok;
    if ((mask & (1 << A_AUTH_PRESENTER)) !== 0 && auth.presenter !== '') ok = this.string(A_AUTH_PRESENTER, auth.presenter) && ok;
    if ((mask & (1 << A_AUTH_CLAIMS)) !== 0) {
      for (let c = 0; c < claimPaths.length; c++) {
        // Istio reads string and list-of-string claims; other types are absent.
        const v = claimAt(auth.claims, claimPaths[c]!);
        const key = A_AUTH_CLAIMS | (c << 8);
        if (typeof v === 'string') ok = this.string(key, v) && ok;
        else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (typeof v[i] === 'string') ok = this.string(key, v[i] as string) && ok;
      }
    }
    return ok;
  }
}

/** The value at a nested claim path (`['a', 'b']` is claims.a.b), or undefined. */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let v: unknown = claims;
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[path[i]!];
  }
  return v;
}

/**
 * The source namespace Istio reads from a principal (`<td>/ns/<ns>/sa/<sa>`): the segment after
 * `/ns/`; null when there is none.
 */
export function namespaceOfPrincipal(principal: string): string | null {
  const at = principal.indexOf('/ns/');
  if (at < 0) return null;
  const start = at + 4;
  const end = principal.indexOf('/', start);
  return end < 0 ? null : principal.slice(start, end);
}

/** The attributes of one request beyond the request view, as the filter gathers them. */
export interface AuthzPeer {
  /** source.principal: the peer's SPIFFE ID without `spiffe://` (mutual TLS only), or null. */
  readonly principal: string | null;
  /** source.namespace (namespaceOfPrincipal), or null. */
  readonly namespace: string | null;
}

/**
 * Writes what `table` reads of one request into its attribute region (begin() first): the
 * peer, the addresses, destination port (-1: unknown), SNI and the verified JWT. False when
 * the region overflowed: the request must then be refused.
 */
export function writeAuthzAttributes(
  table: AuthzTable, peer: AuthzPeer | null, sourceIp: string | null, remoteIp: string | null,
  destinationIp: string | null, destinationPort: number, sni: string | null, auth: RequestAuth | null,
): boolean {
  const a = table.attributes;
  a.begin();
  const mask = table.attrMask;
  if (mask === 0) return true;
  if (peer !== null) {
    if (peer.principal !== null && (mask & (1 << A_SOURCE_PRINCIPAL)) !== 0) a.string(A_SOURCE_PRINCIPAL, peer.principal);
    if (peer.namespace !== null && (mask & (1 << A_SOURCE_NAMESPACE)) !== 0) a.string(A_SOURCE_NAMESPACE, peer.namespace);
  }
  if (sourceIp !== null && (mask & (1 << A_SOURCE_IP)) !== 0) a.ip(A_SOURCE_IP, sourceIp);
  if (remoteIp !== null && (mask & (1 << A_REMOTE_IP)) !== 0) a.ip(A_REMOTE_IP, remoteIp);
  if (destinationIp !== null && (mask & (1 << A_DESTINATION_IP)) !== 0) a.ip(A_DESTINATION_IP, destinationIp);
  if (destinationPort >= 0 && (mask & (1 << A_DESTINATION_PORT)) !== 0) a.port(destinationPort);
  if (sni !== null && (mask & (1 << A_CONNECTION_SNI)) !== 0) a.string(A_CONNECTION_SNI, sni);
  if (auth !== null && (mask & AUTH_ATTRS) !== 0) a.requestAuth(auth, mask, table.claimPaths);
  return !a.overflow;
}

const AUTH_ATTRS = (1 << A_AUTH_PRINCIPAL) | (1 << A_AUTH_AUDIENCES) | (1 << A_AUTH_PRESENTER) | (1 << A_AUTH_CLAIMS);

/** One request for evaluateRequest (tests, benchmarks, tools). */
export interface AuthzRequest {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly principal?: string | null;
  readonly sourceIp?: string | null;
  readonly remoteIp?: string | null;
  readonly destinationIp?: string | null;
  readonly destinationPort?: number | null;
  readonly sni?: string | null;
  readonly auth?: RequestAuth | null;
}

const regions = new WeakMap<Core, AuthzAttributes>();

/** The attribute and result regions of `core`, created once per core. */
export function authzAttributesOf(core: Core): AuthzAttributes {
  let a = regions.get(core);
  if (!a) {
    a = new AuthzAttributes(core);
    regions.set(core, a);
  }
  return a;
}

export class AuthzTable {
  readonly version: number;
  readonly byteLength: number;
  /** Bit `1 << attr` for each attribute the policies read (host/compile/authorization.ts ATTR). */
  readonly attrMask: number;
  readonly claimPaths: ReadonlyArray<readonly string[]>;
  readonly attributes: AuthzAttributes;
  readonly #core: Core;
  readonly #x: AuthzExports;
  readonly #req: number;
  #ptr: number;
  #refs = 1;

  private constructor(core: Core, ptr: number, byteLength: number, version: number, attrMask: number, claimPaths: ReadonlyArray<readonly string[]>) {
    this.#core = core;
    this.#x = core.exports as AuthzExports;
    this.#ptr = ptr;
    this.byteLength = byteLength;
    this.version = version;
    this.attrMask = attrMask;
    this.claimPaths = claimPaths;
    this.attributes = authzAttributesOf(core);
    this.#req = requestViewOf(core).base;
  }

  /**
   * Copies `compiled.bytes` (compileAuthorization) into `core` and has the core check them.
   * @throws AuthzTableError when the core refuses the table (its memory freed first).
   */
  static load(core: Core, compiled: { bytes: Uint8Array; attrMask: number; claimPaths: ReadonlyArray<readonly string[]> }, version: number): AuthzTable {
    const x = core.exports as AuthzExports;
    const bytes = compiled.bytes;
    const ptr = x.alloc(Math.max(bytes.length, 4));
    core.u8.set(bytes, ptr);
    const status = x.authz_table_check(ptr, bytes.length);
    if (status !== AuthzTableStatus.Ok) {
      x.free(ptr);
      throw new AuthzTableError(STATUS_CODE[status] ?? 'corrupt', status, `version ${version} refused by the core`);
    }
    return new AuthzTable(core, ptr, bytes.length, version, compiled.attrMask, compiled.claimPaths);
  }

  get released(): boolean {
    return this.#ptr === 0;
  }

  retain(): this {
    this.#live('retain');
    this.#refs++;
    return this;
  }

  release(): void {
    this.#live('release');
    if (--this.#refs === 0) {
      this.#x.free(this.#ptr);
      this.#ptr = 0;
    }
  }

  /** Does some policy read attribute `attr`? (Write it into `attributes` only then.) */
  reads(attr: number): boolean {
    return (this.attrMask & (1 << attr)) !== 0;
  }

  /**
   * Evaluates the request in the core's request view (filled by the caller for this request)
   * with the attributes written since attributes.begin(): the EV_* bits. The deciding policies
   * are then read with policy(), rule(), customPolicy() …, until the next evaluate().
   */
  evaluate(): number {
    return this.#x.authz_evaluate(this.#live('evaluate'), this.#req, this.attributes.base, this.attributes.result);
  }

  /**
   * Evaluates a TCP connection (Envoy's RBAC network filter) with the attributes written since
   * attributes.begin() and no request: HTTP-only fields as Istio builds them for TCP (an ALLOW
   * rule holding one never matches; elsewhere the field is dropped: assembly/authz/evaluate.ts).
   * The EV_* bits; the deciding policies are read as after evaluate().
   */
  evaluateConnection(): number {
    return this.#x.authz_evaluate_connection(this.#live('evaluateConnection'), this.attributes.base, this.attributes.result);
  }

  /** Writes a connection's attributes (`r`'s HTTP parts ignored) and evaluates it: for tests and tools. */
  evaluateConnectionOf(r: Omit<AuthzRequest, 'method' | 'path' | 'authority' | 'headers' | 'auth'>): number {
    const principal = r.principal ?? null;
    const peer = principal === null ? null : { principal, namespace: namespaceOfPrincipal(principal) };
    if (!writeAuthzAttributes(this, peer, r.sourceIp ?? null, r.remoteIp ?? null, r.destinationIp ?? null, r.destinationPort ?? -1, r.sni ?? null, null)) {
      throw new Error('authorization: the attributes do not fit the attribute region');
    }
    return this.evaluateConnection();
  }

  /** Fills the request view and the attributes and evaluates: for tests, benchmarks and tools, not the data path. */
  evaluateRequest(r: AuthzRequest): number {
    const view = requestViewOf(this.#core);
    let err = view.begin(r.method, r.path, r.authority);
    const h = r.headers ?? [];
    for (let i = 0; err === null && i < h.length; i++) err = view.header(h[i]![0], h[i]![1]);
    if (err !== null) throw new Error(`authorization: the request does not fit the request view (${err})`);
    const principal = r.principal ?? null;
    const peer = principal === null ? null : { principal, namespace: namespaceOfPrincipal(principal) };
    if (!writeAuthzAttributes(this, peer, r.sourceIp ?? null, r.remoteIp ?? null, r.destinationIp ?? null, r.destinationPort ?? -1, r.sni ?? null, r.auth ?? null)) {
      throw new Error('authorization: the attributes do not fit the attribute region');
    }
    return this.evaluate();
  }

  #res(i: number): number {
    return this.#core.view.getInt32(this.attributes.result + i * 4, true);
  }

  /** The DENY policy that denied, or the ALLOW policy that allowed (table index); -1 when none. */
  policy(): number {
    return this.#res(RS_POLICY);
  }
  rule(): number {
    return this.#res(RS_RULE);
  }
  customPolicy(): number {
    return this.#res(RS_CUSTOM_POLICY);
  }
  customRule(): number {
    return this.#res(RS_CUSTOM_RULE);
  }
  shadowPolicy(): number {
    return this.#res(RS_SHADOW_POLICY);
  }
  shadowRule(): number {
    return this.#res(RS_SHADOW_RULE);
  }
  auditPolicy(): number {
    return this.#res(RS_AUDIT_POLICY);
  }
  auditRule(): number {
    return this.#res(RS_AUDIT_RULE);
  }

  #live(what: string): number {
    if (this.#ptr === 0) throw new AuthzTableError('released', 0, `version ${this.version}: ${what}() after release`);
    return this.#ptr;
  }
}
