// The dashboard's static files, served from the package: the page itself (web/dashboard/) and
// the front-end libraries from node_modules (dashboard-libraries.ts lists them), so
// no browser fetches anything from a CDN. Read once at start: a missing file fails `wasmesh
// dashboard` at once rather than the first browser that asks.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../core/wasm.js';
import { DASHBOARD_LIBRARY_FILES } from './dashboard-libraries.js';

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** Where a library's installed dist/ folder is (through its package entry, which every package version keeps). */
function libraryDist(pkg: string): string {
  return dirname(createRequire(import.meta.url).resolve(pkg));
}

/** URL path → asset. */
export function loadDashboardAssets(): ReadonlyMap<string, Asset> {
  const web = join(packageRoot(), 'web', 'dashboard');
  const files: Array<[string, string, string]> = [
    ['/', join(web, 'index.html'), 'text/html; charset=utf-8'],
    ['/assets/dashboard.js', join(web, 'dashboard.js'), 'text/javascript; charset=utf-8'],
    ['/assets/dashboard.css', join(web, 'dashboard.css'), 'text/css; charset=utf-8'],
    ...DASHBOARD_LIBRARY_FILES.map(({ path, pkg, file, contentType }): [string, string, string] => [path, join(libraryDist(pkg), file), contentType]),
  ];
  return new Map(files.map(([path, file, contentType]) => [path, { contentType, body: readFileSync(file) }]));
}
