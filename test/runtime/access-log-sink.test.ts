// AccessLogSink: per-line output writes each record at once and gets worker batches split into
// lines; batched output buffers records until a flush and passes worker batches through; no
// output logs nothing.
import { describe, expect, it } from 'vitest';
import { AccessLogSink } from '../../host/runtime/access-log-sink.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';

const entry = (path: string) => ({ path }) as AccessLogEntry;
const format = (e: AccessLogEntry) => `GET ${e.path}`;

describe('AccessLogSink', () => {
  it('per line: each record at once, worker batches split into lines', () => {
    const lines: string[] = [];
    const sink = new AccessLogSink({ accessLog: (l) => lines.push(l) });
    sink.entries(format)!(entry('/a'));
    expect(lines).toEqual(['GET /a']);
    sink.batch!('GET /b\nGET /c\n');
    expect(lines).toEqual(['GET /a', 'GET /b', 'GET /c']);
    sink.flush();
    expect(lines).toHaveLength(3);
  });

  it('batched: records wait for the flush, worker batches pass through whole', () => {
    const chunks: string[] = [];
    const sink = new AccessLogSink({ accessLogBatch: (t) => chunks.push(t), accessLog: () => { throw new Error('batch takes precedence'); } });
    const log = sink.entries(format)!;
    log(entry('/a'));
    log(entry('/b'));
    expect(chunks).toEqual([]);
    sink.flush();
    expect(chunks).toEqual(['GET /a\nGET /b\n']);
    sink.batch!('GET /w\n');
    expect(chunks).toEqual(['GET /a\nGET /b\n', 'GET /w\n']);
  });

  it('none: no writer for the server, none for the workers', () => {
    const sink = new AccessLogSink({});
    expect(sink.entries(format)).toBeUndefined();
    expect(sink.batch).toBeUndefined();
    sink.flush();
  });
});
