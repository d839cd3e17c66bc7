// A proxy's garbage collections and memory over a measuring window, for the protocol benchmarks:
// the collections come from scripts/gc-counter.cjs preloaded into the proxy (kind, start in epoch
// ms, pause; written as JSON when the process exits). bench:protocols --gc and grpc-alloc.ts
// --cpu read them through this file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../e2e/repo-root.js';

/** The preload that records every collection (node --require=<this>). */
export const GC_COUNTER = (): string => join(repoRoot(), 'scripts', 'gc-counter.cjs');

/** Where gc-counter.cjs writes for process `pid` when GC_COUNT_OUT is unset. */
export const gcLogOf = (pid: number): string => `/tmp/gc-${pid}.json`;

export type GcEvent = [kind: string, startEpochMs: number, pauseMs: number];

export interface GcFigures {
  scavenges: number;
  markSweeps: number;
  /** Every collection's pause (wall time) in the window, summed. */
  pauseMs: number;
  /** The longest single pause in the window: what a request stuck behind it waited at most. */
  maxPauseMs: number;
}

/** Reads a gc-counter.cjs log; a clear error when it is missing or not the counter's JSON. */
export function readGcLog(file: string): GcEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`GC log ${file}: ${(err as Error).message} (was scripts/gc-counter.cjs preloaded, and did the process exit normally?)`);
  }
  const events = JSON.parse(text) as unknown;
  if (!Array.isArray(events) || events.some((e) => !Array.isArray(e) || e.length !== 3 || typeof e[0] !== 'string' || typeof e[1] !== 'number' || typeof e[2] !== 'number')) {
    throw new Error(`GC log ${file}: expected [kind, start epoch ms, pause ms] entries`);
  }
  return events as GcEvent[];
}

/** The collections that started between `from` and `to` (epoch ms, inclusive), by kind, with their pauses. */
export function gcBetween(events: readonly GcEvent[], from: number, to: number): GcFigures {
  const f: GcFigures = { scavenges: 0, markSweeps: 0, pauseMs: 0, maxPauseMs: 0 };
  for (const [kind, at, ms] of events) {
    if (at < from || at > to) continue;
    if (kind === 'scavenge') f.scavenges++;
    else if (kind === 'mark-sweep') f.markSweeps++;
    f.pauseMs += ms;
    if (ms > f.maxPauseMs) f.maxPauseMs = ms;
  }
  return f;
}
