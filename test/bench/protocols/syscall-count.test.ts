// The protocol benchmark's syscall counts (bench/protocols/syscall-count.ts, `--syscalls`):
// perf stat's CSV read into total / reads / writes / polls (each the sum of its tracepoints), a
// window with an event not counted gives no figure rather than a wrong one, figures per unit as
// the CPU figures are, and the counter's process lifecycle (started on the pid, stopped with
// SIGINT, its report read) with a stand-in perf that prints what perf stat prints.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePerfStat, startSyscallCount, SYSCALL_EVENTS } from '../../../bench/protocols/syscall-count.js';
import { parseOptions, syscallsPerUnit } from '../../../bench/protocols/run.js';
import type { LoadFigures } from '../../../bench/protocols/load-client.js';

/** perf stat -x, lines for every counted event, `count(event)` each. */
function perfCsv(count: (event: string) => string): string {
  return Object.values(SYSCALL_EVENTS).flat().map((e) => `${count(e)},,${e},4000000000,100.00,,`).join('\n') + '\n';
}

const COUNTS: Record<string, number> = {
  'raw_syscalls:sys_enter': 1000, 'syscalls:sys_enter_read': 300, 'syscalls:sys_enter_readv': 20, 'syscalls:sys_enter_recvfrom': 1,
  'syscalls:sys_enter_recvmsg': 0, 'syscalls:sys_enter_write': 250, 'syscalls:sys_enter_writev': 40, 'syscalls:sys_enter_sendto': 2,
  'syscalls:sys_enter_sendmsg': 0, 'syscalls:sys_enter_epoll_wait': 0, 'syscalls:sys_enter_epoll_pwait': 280,
};

describe('syscall counts (perf stat)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-syscalls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sums each figure over its tracepoints', () => {
    expect(parsePerfStat(`\n${perfCsv((e) => String(COUNTS[e]))}`)).toEqual({ total: 1000, reads: 321, writes: 292, polls: 280 });
  });

  it('gives no figure when an event was not counted or is missing', () => {
    expect(parsePerfStat(perfCsv((e) => (e === 'syscalls:sys_enter_writev' ? '<not counted>' : '5')))).toBeNull();
    expect(parsePerfStat(perfCsv(() => '5').split('\n').filter((l) => !l.includes('epoll_pwait')).join('\n'))).toBeNull();
    expect(parsePerfStat('')).toBeNull();
  });

  it('per unit as the CPU figures: per 1000 operations, per MiB for tcp-bytes; none without work', () => {
    const f = { ops: 4000, bytes: 2 * 1024 * 1024 } as LoadFigures;
    const c = { total: 8000, reads: 2000, writes: 2000, polls: 1600 };
    expect(syscallsPerUnit('ws', f, c)).toEqual({ total: 2000, reads: 500, writes: 500, polls: 400 });
    expect(syscallsPerUnit('tcp-bytes', f, c)).toEqual({ total: 4000, reads: 1000, writes: 1000, polls: 800 });
    expect(syscallsPerUnit('ws', { ops: 0, bytes: 0 } as LoadFigures, c)).toBeNull();
    expect(syscallsPerUnit('ws', f, null)).toBeNull();
  });

  it('--syscalls is a flag without a value', () => {
    expect(parseOptions(['--syscalls', '--modes', 'ws'])).toMatchObject({ syscalls: true, modes: ['ws'] });
    expect(parseOptions([]).syscalls).toBeUndefined();
  });

  it('runs perf stat on the pid and reads its report when stopped (SIGINT)', async () => {
    // A stand-in perf: records its arguments, and prints the report on SIGINT, as perf stat does.
    const fake = join(dir, 'perf');
    const args = join(dir, 'args');
    const report = join(dir, 'report');
    writeFileSync(report, perfCsv((e) => String(COUNTS[e])));
    writeFileSync(fake, `#!/bin/sh\ntrap 'cat ${report} >&2; exit 0' INT\necho "$@" > ${args}\nwhile :; do sleep 0.05; done\n`);
    chmodSync(fake, 0o755);
    const counter = startSyscallCount(4242, fake);
    // Wait until it runs (it wrote its arguments), then stop it.
    while (!existsSync(args)) await new Promise((r) => setTimeout(r, 10));
    const counts = await counter.stop();
    expect(readFileSync(args, 'utf8')).toContain('stat -x , -e raw_syscalls:sys_enter,');
    expect(readFileSync(args, 'utf8').trim().endsWith('-p 4242')).toBe(true);
    expect(counts).toEqual({ total: 1000, reads: 321, writes: 292, polls: 280 });
  });

  it('a perf that cannot run gives no figure, and stopping it signals nothing else', async () => {
    // Stopped at once, before the spawn error is emitted: a kill() then was kill(0, SIGINT), which
    // reached this process group (here: the test runner, which exited 130).
    let interrupted = 0;
    const onInt = (): void => { interrupted++; };
    process.on('SIGINT', onInt);
    try {
      expect(await startSyscallCount(4242, join(dir, 'no-such-perf')).stop()).toBeNull();
      await new Promise((r) => setTimeout(r, 100));
      expect(interrupted).toBe(0);
    } finally {
      process.removeListener('SIGINT', onInt);
    }
  });
});
