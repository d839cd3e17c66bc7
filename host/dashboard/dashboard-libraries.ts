// The front-end libraries the dashboard serves from node_modules (cytoscape for the graph, uPlot
// for the charts): for each, the files taken from the folder of its package entry (its dist/).
// One list for two readers: dashboard-assets.ts serves these files, and the image build
// (docker/slim-node-modules.mjs, which imports the compiled dist/ copy of this file) keeps only
// these files, the package entry and package.json of these packages, since nothing in Node
// loads the rest of them (about 4 MB of cytoscape's sources, tests and other bundles).
// No imports: the image build loads it from a plain `node` script.

export interface DashboardLibraryFile {
  /** The URL path the dashboard serves it under. */
  readonly path: string;
  /** The npm package. */
  readonly pkg: string;
  /** The file, relative to the folder of the package's entry (require.resolve(pkg)). */
  readonly file: string;
  readonly contentType: string;
}

export const DASHBOARD_LIBRARY_FILES: readonly DashboardLibraryFile[] = [
  { path: '/assets/cytoscape.min.js', pkg: 'cytoscape', file: 'cytoscape.min.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/assets/uPlot.iife.min.js', pkg: 'uplot', file: 'uPlot.iife.min.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/assets/uPlot.min.css', pkg: 'uplot', file: 'uPlot.min.css', contentType: 'text/css; charset=utf-8' },
];
