import { describe, expect, it } from 'vitest';
import { formatJwtFigures, jwtFigures } from '../../bench/jwt-suite.js';

describe('bench jwt suite (smoke)', () => {
  it('measures jose verification and the filter cache hit, both positive, the cache hit faster', async () => {
    const figures = await jwtFigures(true);
    expect(figures.map((f) => f.name)).toHaveLength(4);
    for (const f of figures) expect(f.opsPerSec).toBeGreaterThan(0);
    expect(figures[1]!.opsPerSec).toBeGreaterThan(figures[0]!.opsPerSec);
    expect(formatJwtFigures(figures)).toMatch(/JWT verification per request/);
  }, 30_000);
});
