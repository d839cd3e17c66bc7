// The upstream request head writer: builds `METHOD SP path SP HTTP/1.1`, `host:`, the
// forwarded headers and the framing header into an output region, straight from the request
// view (assembly/abi.ts) and the route's header edit lists — no JS string per header.
import { Status } from '../status';
import {
  RV_METHOD_PTR, RV_METHOD_LEN, RV_PATH_PTR, RV_PATH_LEN, RV_AUTHORITY_PTR, RV_AUTHORITY_LEN,
  RV_HEADER_COUNT, RV_HEADERS, RV_HEADER_ENTRY,
} from '../abi';
import { CharCode, equalsLower } from './char-class';
import { EditOp, EL_COUNT, MAX_EDIT_LISTS, editLists, editListCount, entryAt, killedAfter, setEditListCount } from './edit-list';
import { isHopByHop, isConnection, namedInConnection } from './hop-by-hop';

// Args struct (u32 unless noted), one per writer, at the address the host passes as `args`:
//   +0  methodPtr    +4  methodLen     override; methodPtr 0 = the view's method
//   +8  pathPtr      +12 pathLen       override; pathPtr 0 = the view's path
//   +16 authorityPtr +20 authorityLen  override; authorityPtr 0 = the view's authority
//   +24 framing      WriteFraming below (request writer)
//   +28 filterFlags  FilterFlag bits (response head filter)
//   +32 contentLength f64, for WriteFraming.Length
//   +40 editCount    edit lists that apply, in order (≤ MAX_EDIT_LISTS)
//   +44 edit list handles, MAX_EDIT_LISTS × u32
export const WA_METHOD_PTR: u32 = 0;
export const WA_METHOD_LEN: u32 = 4;
export const WA_PATH_PTR: u32 = 8;
export const WA_PATH_LEN: u32 = 12;
export const WA_AUTHORITY_PTR: u32 = 16;
export const WA_AUTHORITY_LEN: u32 = 20;
export const WA_FRAMING: u32 = 24;
export const WA_FILTER_FLAGS: u32 = 28;
export const WA_CONTENT_LENGTH: u32 = 32;
export const WA_EDIT_COUNT: u32 = 40;
export const WA_EDITS: u32 = 44;
export const WA_SIZE: u32 = WA_EDITS + MAX_EDIT_LISTS * 4;

/** The framing header the writer adds (the host decides it from the downstream request). */
export const enum WriteFraming {
  /** No body: no framing header. */
  None = 0,
  /** `content-length: N`. */
  Length = 1,
  /** `transfer-encoding: chunked`. */
  Chunked = 2,
}

// Output cursor. Writes past the end only set `overflow`, so callers check once at the end.
let wp: usize = 0;
let wend: usize = 0;
let overflow = false;

// @ts-ignore: decorator
@inline function putByte(c: u32): void {
  if (wp < wend) store<u8>(wp, <u8>c);
  else overflow = true;
  wp++;
}

function putBytes(src: usize, n: usize): void {
  if (wp + n <= wend) memory.copy(wp, src, n);
  else overflow = true;
  wp += n;
}

function putLiteral(s: string): void {
  for (let i = 0; i < s.length; i++) putByte(<u32>s.charCodeAt(i));
}

function putDecimal(v: u64): void {
  // At most 16 digits below 2^53; write them backwards into a scratch area, then copy.
  const tmp = scratch;
  let i: usize = 20;
  do {
    i--;
    store<u8>(tmp + i, <u8>(<u32>(v % 10) + CharCode.ZERO));
    v /= 10;
  } while (v != 0);
  putBytes(tmp + i, 20 - i);
}
const scratch: usize = memory.data(20);

function putField(name: usize, nameLen: usize, value: usize, valueLen: usize): void {
  putBytes(name, nameLen);
  putByte(CharCode.COLON);
  putByte(CharCode.SP);
  putBytes(value, valueLen);
  putByte(CharCode.CR);
  putByte(CharCode.LF);
}

/** Loads the args' edit list handles into the shared edit-list state; false if too many. */
export function loadEditLists(args: usize): bool {
  const n = load<u32>(args, WA_EDIT_COUNT);
  if (n > MAX_EDIT_LISTS) return false;
  for (let i: u32 = 0; i < n; i++) store<u32>(editLists + (i << 2), load<u32>(args + WA_EDITS + (i << 2)));
  setEditListCount(n);
  return true;
}

/** Whether an edit entry's name is one the writer owns (host, framing, hop-by-hop). */
function reservedName(name: usize, nameLen: usize): bool {
  if (nameLen == 4 && equalsLower(name, 4, 'host')) return true;
  if (nameLen == 14 && equalsLower(name, 14, 'content-length')) return true;
  return isHopByHop(name, nameLen, 0, 0);
}

/**
 * Writes the upstream request head for the request view at `view` into (out, cap).
 * Returns the number of bytes written, or the negated status: -OutputTooSmall (grow the
 * region and call again) or -TooManyEditLists.
 *
 * Dropped from the view: host (written first, from the authority), content-length (the
 * framing header replaces it), the hop-by-hop fields and every field named in Connection.
 * Edits: remove/set drop same-named fields from the view and from earlier edits; set/add
 * write their field. An edit naming host (set or add) replaces the authority; edits naming
 * content-length or a hop-by-hop field are ignored (the writer owns framing).
 */
export function write_request_head(view: usize, args: usize, out: usize, cap: usize): i32 {
  if (!loadEditLists(args)) return -Status.TooManyEditLists;
  wp = out;
  wend = out + cap;
  overflow = false;

  let method = <usize>load<u32>(args, WA_METHOD_PTR);
  let methodLen = <usize>load<u32>(args, WA_METHOD_LEN);
  if (method == 0) { method = <usize>load<u32>(view, RV_METHOD_PTR); methodLen = <usize>load<u32>(view, RV_METHOD_LEN); }
  let path = <usize>load<u32>(args, WA_PATH_PTR);
  let pathLen = <usize>load<u32>(args, WA_PATH_LEN);
  if (path == 0) { path = <usize>load<u32>(view, RV_PATH_PTR); pathLen = <usize>load<u32>(view, RV_PATH_LEN); }
  let authority = <usize>load<u32>(args, WA_AUTHORITY_PTR);
  let authorityLen = <usize>load<u32>(args, WA_AUTHORITY_LEN);
  if (authority == 0) { authority = <usize>load<u32>(view, RV_AUTHORITY_PTR); authorityLen = <usize>load<u32>(view, RV_AUTHORITY_LEN); }
  // A header edit on host rewrites the authority (the last one wins, like applying in order).
  for (let l: u32 = 0; l < editListCount; l++) {
    const list = <usize>load<u32>(editLists + (l << 2));
    const n = load<u32>(list, EL_COUNT);
    for (let k: u32 = 0; k < n; k++) {
      const e = entryAt(list, k);
      if (load<u32>(e) != EditOp.Remove && load<u32>(e, 8) == 4 && equalsLower(<usize>load<u32>(e, 4), 4, 'host')) {
        authority = <usize>load<u32>(e, 12);
        authorityLen = <usize>load<u32>(e, 16);
      }
    }
  }

  putBytes(method, methodLen);
  putByte(CharCode.SP);
  putBytes(path, pathLen);
  putLiteral(' HTTP/1.1\r\nhost: ');
  putBytes(authority, authorityLen);
  putByte(CharCode.CR);
  putByte(CharCode.LF);

  const count = load<u32>(view, RV_HEADER_COUNT);
  // Connection fields are few (usually none): find them once.
  let hasConnection = false;
  for (let i: u32 = 0; i < count; i++) {
    const h = view + RV_HEADERS + i * RV_HEADER_ENTRY;
    if (isConnection(<usize>load<u32>(h), <usize>load<u32>(h, 4))) { hasConnection = true; break; }
  }
  for (let i: u32 = 0; i < count; i++) {
    const h = view + RV_HEADERS + i * RV_HEADER_ENTRY;
    const name = <usize>load<u32>(h);
    const nameLen = <usize>load<u32>(h, 4);
    const value = <usize>load<u32>(h, 8);
    const valueLen = <usize>load<u32>(h, 12);
    if (nameLen == 0) continue;
    if (nameLen == 4 && equalsLower(name, 4, 'host')) continue;
    if (nameLen == 14 && equalsLower(name, 14, 'content-length')) continue;
    if (isHopByHop(name, nameLen, value, valueLen)) continue;
    if (hasConnection && namedInViewConnection(view, count, name, nameLen)) continue;
    if (editListCount != 0 && killedAfter(name, nameLen, -1, 0)) continue;
    putField(name, nameLen, value, valueLen);
  }
  writeEdits();

  const framing = load<u32>(args, WA_FRAMING);
  if (framing == WriteFraming.Length) {
    putLiteral('content-length: ');
    putDecimal(<u64>load<f64>(args, WA_CONTENT_LENGTH));
    putByte(CharCode.CR);
    putByte(CharCode.LF);
  } else if (framing == WriteFraming.Chunked) {
    putLiteral('transfer-encoding: chunked\r\n');
  }
  putByte(CharCode.CR);
  putByte(CharCode.LF);
  if (overflow) return -Status.OutputTooSmall;
  return <i32>(wp - out);
}

/** Writes the set/add entries that survive the later edits. */
function writeEdits(): void {
  for (let l: u32 = 0; l < editListCount; l++) {
    const list = <usize>load<u32>(editLists + (l << 2));
    const n = load<u32>(list, EL_COUNT);
    for (let k: u32 = 0; k < n; k++) {
      const e = entryAt(list, k);
      if (load<u32>(e) == EditOp.Remove) continue;
      const name = <usize>load<u32>(e, 4);
      const nameLen = <usize>load<u32>(e, 8);
      if (reservedName(name, nameLen)) continue;
      if (killedAfter(name, nameLen, <i32>l, <i32>k)) continue;
      putField(name, nameLen, <usize>load<u32>(e, 12), <usize>load<u32>(e, 16));
    }
  }
}

function namedInViewConnection(view: usize, count: u32, name: usize, nameLen: usize): bool {
  for (let i: u32 = 0; i < count; i++) {
    const h = view + RV_HEADERS + i * RV_HEADER_ENTRY;
    if (!isConnection(<usize>load<u32>(h), <usize>load<u32>(h, 4))) continue;
    if (namedInConnection(name, nameLen, <usize>load<u32>(h, 8), <usize>load<u32>(h, 12))) return true;
  }
  return false;
}
