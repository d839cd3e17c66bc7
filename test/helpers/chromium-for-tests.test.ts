// The browser tests' guard: a missing Chromium skips them on a laptop and fails them under
// WASMESH_REQUIRE_CHROMIUM=1 (CI), never silently.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chromiumForTests } from './chromium-for-tests.js';

const saved = process.env.WASMESH_REQUIRE_CHROMIUM;
afterEach(() => {
  if (saved === undefined) delete process.env.WASMESH_REQUIRE_CHROMIUM;
  else process.env.WASMESH_REQUIRE_CHROMIUM = saved;
  vi.restoreAllMocks();
});

describe('chromiumForTests', () => {
  it('missing under WASMESH_REQUIRE_CHROMIUM=1: throws', () => {
    process.env.WASMESH_REQUIRE_CHROMIUM = '1';
    expect(() => chromiumForTests('suite', ['/nonexistent/chromium'])).toThrow(/suite: WASMESH_REQUIRE_CHROMIUM=1 but no chromium found/);
  });

  it('missing without it: null and a warning naming the install script', () => {
    delete process.env.WASMESH_REQUIRE_CHROMIUM;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(chromiumForTests('suite', ['/nonexistent/chromium', undefined, ''])).toBeNull();
    expect(warn.mock.calls[0]![0]).toContain('scripts/install-chromium.sh');
  });

  it('an executable candidate is returned', () => {
    expect(chromiumForTests('suite', ['/nonexistent/chromium', process.execPath])).toBe(process.execPath);
  });
});
