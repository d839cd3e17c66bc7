// Rewrites only the "## End-to-end" section of BENCHMARKS.md (from that heading to the next
// level-2 heading or the end), re-reading the file right before writing: other sections belong to
// the micro-benchmarks and may change while a run is under way. Text after HAND_WRITTEN_MARKER
// inside the section (notes written by hand about a run) is carried over into the new section.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const SECTION_HEADING = '## End-to-end';
/** Everything from this line to the end of the section is hand-written and survives a rewrite. */
export const HAND_WRITTEN_MARKER = '<!-- hand-written below: bench:e2e keeps this part when it rewrites the section -->';

/** `text` with its End-to-end section replaced by `section` (appended when there is none). */
export function replaceSection(text: string, section: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === SECTION_HEADING);
  const body = section.trimEnd().split('\n');
  if (start < 0) return `${text.trimEnd()}\n\n${body.join('\n')}\n`;
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const marker = lines.findIndex((l, i) => i > start && i < end && l.trim() === HAND_WRITTEN_MARKER);
  const kept = marker < 0 ? [] : lines.slice(marker, end).join('\n').trimEnd().split('\n');
  // A new section that already carries hand-written text (or none was kept) goes in as it is.
  if (kept.length && !body.includes(HAND_WRITTEN_MARKER)) body.push('', ...kept);
  const after = lines.slice(end);
  return [...lines.slice(0, start), ...body, ...(after.length ? ['', ...after] : [''])].join('\n');
}

export function updateBenchmarksMd(file: string, section: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# wasmesh benchmarks\n';
  writeFileSync(file, replaceSection(text, section));
}
