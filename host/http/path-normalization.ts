// Envoy's request path normalization as Istio configures it per meshConfig pathNormalization
// (HCM normalize_path, merge_slashes, path_with_escaped_slashes_action), applied once to the
// :path before routing and authorization, so that both — and the upstream, which is sent the
// normalized path as Envoy forwards it — see one spelling of each path:
//   every mode   the `#fragment` is stripped (CVE-2021-39156; Istio's bootstrap sets Envoy's
//                http_reject_path_with_fragment to false, so Envoy strips rather than refuses);
//   NONE         nothing else (a `%00` is forwarded, as stock Envoy without normalize_path does);
//   BASE         normalize_path: a `%00` is refused (400, as Envoy's canonicalizer fails on it);
//                %-escapes of unreserved characters (ALPHA DIGIT - . _ ~) decoded,
//                `\` read as `/`, dot segments removed per RFC 3986 5.2.4 (`..` above the root
//                stays at the root); other escapes, valid or not, are kept as written;
//   MERGE_SLASHES            BASE, then runs of `/` merged;
//   DECODE_AND_MERGE_SLASHES %2F and %5C decoded first (UNESCAPE_AND_FORWARD), then MERGE_SLASHES.
// The query is never touched. A path that needs none of this is returned as is (no allocation):
// the common request costs one scan.
import type { PathNormalization } from '../model/mesh-settings.js';

const PERCENT = 0x25;
const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const HASH = 0x23;
const QUERY = 0x3f;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function unreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === DOT || c === 0x5f || c === 0x7e;
}

/**
 * The request-target (`path[?query][#fragment]`) normalized under `mode`, or null when it must
 * be refused with 400 (Envoy's answer to a path it will not normalize).
 */
export function normalizePath(target: string, mode: PathNormalization): string | null {
  // One scan decides whether anything is to do.
  let end = target.length;
  let queryAt = -1;
  let work = false;
  const merge = mode === 'MERGE_SLASHES' || mode === 'DECODE_AND_MERGE_SLASHES';
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === HASH) {
      end = i;
      break;
    }
    if (queryAt >= 0) continue;
    if (c === QUERY) queryAt = i;
    else if (c === PERCENT) {
      if (mode !== 'NONE' && target.charCodeAt(i + 1) === 0x30 && target.charCodeAt(i + 2) === 0x30) return null;
      work = true;
    } else if (c === BACKSLASH || (c === DOT && target.charCodeAt(i - 1) === SLASH) || (merge && c === SLASH && target.charCodeAt(i - 1) === SLASH)) {
      work = true;
    }
  }
  const pathEnd = queryAt >= 0 ? queryAt : end;
  if (mode === 'NONE' || !work || target.charCodeAt(0) !== SLASH) return end === target.length ? target : target.slice(0, end);
  const path = normalizeSegments(target.slice(0, pathEnd), mode === 'DECODE_AND_MERGE_SLASHES', merge);
  return path + target.slice(pathEnd, end);
}

/** Decoding, backslashes, dot segments and (optionally) slash merging of a path starting with `/`. */
function normalizeSegments(path: string, decodeSlashes: boolean, merge: boolean): string {
  // 1. Escapes: unreserved ones (and, when asked, %2F and %5C) decoded; `\` read as `/`.
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === PERCENT) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        const v = hi * 16 + lo;
        if (unreserved(v) || (decodeSlashes && (v === SLASH || v === BACKSLASH))) {
          decoded += v === BACKSLASH ? '/' : String.fromCharCode(v);
          i += 2;
          continue;
        }
      }
      decoded += '%';
      continue;
    }
    decoded += c === BACKSLASH ? '/' : path[i]!;
  }
  // 2. RFC 3986 5.2.4 remove_dot_segments, over segments.
  const segments = decoded.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === '.') {
      if (last) out.push('');
    } else if (s === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(s);
    }
  }
  let result = '/' + out.join('/');
  // 3. Merge slashes.
  if (merge) result = result.replace(/\/{2,}/g, '/');
  return result;
}
