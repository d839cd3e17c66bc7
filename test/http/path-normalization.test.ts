import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { normalizePath } from '../../host/http/path-normalization.js';
import type { PathNormalization } from '../../host/model/mesh-settings.js';

const MODES: readonly PathNormalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

describe('normalizePath', () => {
  test.each([
    // [input, NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES]
    ['/a/../b', '/a/../b', '/b', '/b', '/b'],
    ['/a/./b/.', '/a/./b/.', '/a/b/', '/a/b/', '/a/b/'],
    ['/../../a', '/../../a', '/a', '/a', '/a'],
    ['/a/..', '/a/..', '/', '/', '/'],
    ['//admin', '//admin', '//admin', '/admin', '/admin'],
    ['/a//b', '/a//b', '/a//b', '/a/b', '/a/b'],
    ['/a%2Fb', '/a%2Fb', '/a%2Fb', '/a%2Fb', '/a/b'],
    ['/a%2f..%2fb', '/a%2f..%2fb', '/a%2f..%2fb', '/a%2f..%2fb', '/b'],
    ['/a%5Cb', '/a%5Cb', '/a%5Cb', '/a%5Cb', '/a/b'],
    ['\\da', '\\da', '\\da', '\\da', '\\da'], // not origin-form: left alone
    ['/\\da', '/\\da', '//da', '/da', '/da'],
    ['/x\\..\\admin', '/x\\..\\admin', '/admin', '/admin', '/admin'],
    ['/%61dmin', '/%61dmin', '/admin', '/admin', '/admin'],
    ['/%2e%2E/admin', '/%2e%2E/admin', '/admin', '/admin', '/admin'],
    ['/some%2fdata/%61%62%63', '/some%2fdata/%61%62%63', '/some%2fdata/abc', '/some%2fdata/abc', '/some/data/abc'],
    ['/a%20b%zz%4', '/a%20b%zz%4', '/a%20b%zz%4', '/a%20b%zz%4', '/a%20b%zz%4'],
    ['/public/../admin?x=/../y', '/public/../admin?x=/../y', '/admin?x=/../y', '/admin?x=/../y', '/admin?x=/../y'],
    ['/admin#/../public', '/admin', '/admin', '/admin', '/admin'],
    ['/a?q=1#frag', '/a?q=1', '/a?q=1', '/a?q=1', '/a?q=1'],
    ['/plain/path?a=%2F', '/plain/path?a=%2F', '/plain/path?a=%2F', '/plain/path?a=%2F', '/plain/path?a=%2F'],
  ])('%s', (input, ...expected) => {
    MODES.forEach((mode, i) => expect(normalizePath(input, mode), mode).toBe(expected[i]));
  });

  test('%00 is refused when normalizing (as Envoy\'s normalize_path), forwarded under NONE', () => {
    for (const mode of MODES.filter((m) => m !== 'NONE')) expect(normalizePath('/a%00b', mode)).toBeNull();
    expect(normalizePath('/a%00b', 'NONE')).toBe('/a%00b');
  });

  test('a path needing nothing is returned as the same string', () => {
    const p = '/api/v1/items?id=3';
    expect(normalizePath(p, 'DECODE_AND_MERGE_SLASHES')).toBe(p);
  });
});

// A reference written straight from the texts (RFC 3986 5.2.4's loop over an input buffer, the
// Istio table for escapes), sharing no code with the implementation.
function reference(target: string, mode: PathNormalization): string | null {
  const noFragment = target.split('#')[0]!;
  const q = noFragment.indexOf('?');
  let path = q < 0 ? noFragment : noFragment.slice(0, q);
  const query = q < 0 ? '' : noFragment.slice(q);
  if (mode === 'NONE') return path + query;
  if (/%00/.test(path)) return null;
  if (!path.startsWith('/')) return path + query;
  if (mode === 'DECODE_AND_MERGE_SLASHES') path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  path = path.replace(/%([0-9a-f]{2})/gi, (m, h: string) => {
    const ch = String.fromCharCode(parseInt(h, 16));
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : m;
  });
  path = path.replace(/\\/g, '/');
  let input = path;
  let output = '';
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) {
      input = input.slice(3);
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '/..') {
      input = '/';
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', 1);
      const seg = next < 0 ? input : input.slice(0, next);
      output += seg;
      input = input.slice(seg.length);
    }
  }
  if (mode !== 'BASE') output = output.replace(/\/+/g, '/');
  return output + query;
}

describe('normalizePath against the reference', () => {
  const piece = fc.constantFrom('/', '//', '.', '..', '/./', '/../', 'a', 'B', '%2e', '%2E', '%2f', '%2F', '%5c', '%5C', '%61', '%41', '%7e', '%20', '%zz', '%4', '%', '\\', '?', '#', '=', '-', '_', '~', 'x.y');
  test('agree on every mode for generated paths', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.constantFrom(...MODES), (parts, mode) => {
        const target = '/' + parts.join('');
        expect(normalizePath(target, mode)).toBe(reference(target, mode));
      }),
      { numRuns: 3000 },
    );
  });

  test('normalizing twice changes nothing more (BASE and MERGE_SLASHES)', () => {
    fc.assert(
      fc.property(fc.array(piece.filter((p) => p !== '%' && p !== '%4' && p !== '#'), { maxLength: 12 }), fc.constantFrom<PathNormalization>('MERGE_SLASHES'), (parts, mode) => {
        const once = normalizePath('/' + parts.join(''), mode);
        if (once !== null && !/%(25|2[eE]|[0-9a-fA-F]{2})/.test(once)) expect(normalizePath(once, mode)).toBe(once);
      }),
    );
  });
});
