// The facts a benchmark figure is meaningless without: CPU, core count, load, Node and V8
// versions, date. Printed atop every run and stored with the JSON results.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineFacts {
  date: string;
  cpu: string;
  cores: number;
  /** 1-minute load average when the run started: above ~0.5 × cores, expect noisy figures. */
  loadAvg1: number;
  node: string;
  v8: string;
  platform: string;
}

/** The CPU model from /proc/cpuinfo (Linux), else what os.cpus() reports. */
function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // Not Linux: fall through to os.cpus().
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function machineFacts(): MachineFacts {
  return {
    date: new Date().toISOString(),
    cpu: cpuModel(),
    cores: os.cpus().length,
    loadAvg1: Math.round(os.loadavg()[0] * 100) / 100,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function formatMachine(m: MachineFacts): string {
  return [
    `date      ${m.date}`,
    `cpu       ${m.cpu} × ${m.cores} cores (load ${m.loadAvg1} at start)`,
    `runtime   node ${m.node}, v8 ${m.v8}, ${m.platform}`,
  ].join('\n');
}
