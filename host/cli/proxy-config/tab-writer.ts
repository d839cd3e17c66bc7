// Go's text/tabwriter as istioctl uses it (minwidth 0, padding p, spaces, no flags): each cell
// ended by a tab is padded to its column's widest cell plus the padding; the text after a
// line's last tab is written as it is. istioctl's tables are printed this way, so the same rows
// print byte for byte as istioctl prints them.

/** Rows of cells; every cell but each row's last is a tab-terminated (aligned) cell. */
export function tabWrite(rows: ReadonlyArray<readonly string[]>, padding: number): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, [...r[i]!].length + padding);
  }
  let out = '';
  for (const r of rows) {
    for (let i = 0; i < r.length - 1; i++) out += r[i]! + ' '.repeat(widths[i]! - [...r[i]!].length);
    out += (r[r.length - 1] ?? '') + '\n';
  }
  return out;
}
