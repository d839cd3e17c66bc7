// The end-to-end chart, drawn by hand as SVG (no charting dependency): left panel throughput per
// contender, right panel p99 latency per contender at each fixed rate; one bar group per worker
// count (and rate), bars at the median, whiskers spanning min–max over repetitions.
import { shownContenders, type ContenderName } from './contenders.js';
import type { E2eReport, Spread } from './report-types.js';
import { findRow } from './summarize.js';

const COLOURS: Record<ContenderName, string> = { direct: '#9e9e9e', wasmesh: '#00897b', envoy: '#5e35b1', 'envoy+filters': '#f4511e', 'wasmesh-mtls': '#4db6ac', 'envoy-mtls': '#9575cd', 'wasmesh-policy': '#004d40', 'envoy-policy': '#311b92', 'wasmesh-notel': '#80cbc4', 'wasmesh-telemetry': '#00695c', 'envoy-telemetry': '#4527a0', 'wasmesh-pair-notel': '#b2dfdb', 'wasmesh-pair-telemetry': '#26a69a', 'envoy-pair-telemetry': '#7e57c2' };

interface Group {
  label: string;
  bars: { contender: ContenderName; value: Spread | null }[];
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A "nice" axis maximum (1, 2 or 5 × 10^k) at or above `v`. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((x) => x >= v)!;
}

function label(v: number): string {
  if (v === 0) return '0';
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
  if (v >= 10) return v.toFixed(0);
  if (v >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

function panel(x0: number, y0: number, w: number, h: number, title: string, unit: string, groups: Group[]): string[] {
  const out: string[] = [];
  const top = niceMax(Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => (b.value ? b.value.max : 0)))));
  const plotX = x0 + 48;
  const plotW = w - 56;
  const plotY = y0 + 28;
  const plotH = h - 70;
  const y = (v: number): number => plotY + plotH - (v / top) * plotH;
  out.push(`<text x="${x0 + w / 2}" y="${y0 + 14}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  // Gridlines at round values: 5 steps for a 1×/5× maximum, 4 for a 2× one.
  const steps = /^2/.test(String(top)) ? 4 : 5;
  for (let i = 0; i <= steps; i++) {
    const v = (top * i) / steps;
    out.push(`<line x1="${plotX}" x2="${plotX + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${plotX - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="10">${label(v)}</text>`);
  }
  out.push(`<text x="${x0 + 10}" y="${plotY + plotH / 2}" font-size="10" text-anchor="middle" transform="rotate(-90 ${x0 + 10} ${plotY + plotH / 2})">${esc(unit)}</text>`);
  const groupW = plotW / Math.max(1, groups.length);
  groups.forEach((g, gi) => {
    const gx = plotX + gi * groupW;
    const barW = Math.min(36, (groupW - 16) / g.bars.length);
    const start = gx + (groupW - barW * g.bars.length) / 2;
    g.bars.forEach((b, bi) => {
      const bx = start + bi * barW;
      if (b.value === null) {
        out.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${plotY + plotH - 4}" text-anchor="middle" font-size="9" fill="#757575">n/a</text>`);
        return;
      }
      const v = b.value;
      out.push(`<rect x="${(bx + 2).toFixed(1)}" y="${y(v.median).toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${(plotY + plotH - y(v.median)).toFixed(1)}" fill="${COLOURS[b.contender]}"><title>${b.contender}: ${label(v.median)} (${label(v.min)}–${label(v.max)})</title></rect>`);
      const cx = (bx + barW / 2).toFixed(1);
      out.push(`<line x1="${cx}" x2="${cx}" y1="${y(v.max).toFixed(1)}" y2="${y(v.min).toFixed(1)}" stroke="#212121"/>`);
      out.push(`<text x="${cx}" y="${(y(v.max) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${label(v.median)}</text>`);
    });
    out.push(`<text x="${(gx + groupW / 2).toFixed(1)}" y="${plotY + plotH + 14}" text-anchor="middle" font-size="10">${esc(g.label)}</text>`);
  });
  out.push(`<line x1="${plotX}" x2="${plotX + plotW}" y1="${plotY + plotH}" y2="${plotY + plotH}" stroke="#424242"/>`);
  return out;
}

export function svgChart(report: E2eReport): string {
  const { workers, modes } = report.settings;
  const shown = shownContenders(report.summary);
  const bars = (w: number, mode: string, pick: 'rps' | 'p99Ms'): Group['bars'] =>
    shown.map((c) => ({ contender: c, value: findRow(report.summary, w, mode, c)?.[pick] ?? null }));
  const throughput: Group[] = modes.some((m) => m.name === 'throughput')
    ? workers.map((w) => ({ label: `${w} worker${w > 1 ? 's' : ''}`, bars: bars(w, 'throughput', 'rps') }))
    : [];
  const p99: Group[] = workers.flatMap((w) =>
    modes.filter((m) => m.kind === 'fixed-rate').map((m) => ({ label: `${m.qps! >= 1000 ? `${m.qps! / 1000}k` : m.qps} rps, ${w}w`, bars: bars(w, m.name, 'p99Ms') })),
  );
  const width = 860;
  const height = 340;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...panel(0, 0, 340, height - 30, 'Max throughput (64 connections)', 'requests / s (higher is better)', throughput),
    ...panel(350, 0, 510, height - 30, 'p99 latency at a fixed rate', 'ms (lower is better)', p99),
  ];
  shown.forEach((c, i) => {
    const x = 130 + i * (680 / shown.length);
    out.push(`<rect x="${x}" y="${height - 22}" width="12" height="12" fill="${COLOURS[c]}"/>`);
    out.push(`<text x="${x + 16}" y="${height - 12}">${c === 'direct' ? 'direct (no proxy)' : c}</text>`);
  });
  out.push(`<text x="${width - 4}" y="${height - 2}" text-anchor="end" font-size="9" fill="#757575">${esc(report.machine.date.slice(0, 10))} · median, whiskers min–max over ${report.settings.reps} rep(s)</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
