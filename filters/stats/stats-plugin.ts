// What the stats filters' root contexts share (stats-filter.ts for HTTP, tcp-stats-filter.ts
// for TCP; one module, one VM): the filters' own counters (refused configurations, label sets
// past the series table), and reading, parsing and replacing a root's plugin configuration
// (stats-config.ts), refusing a bad one with its code (the plugin then fails closed).
import { LogLevel, MetricType, Status, BufferType } from '../abi/abi-types';
import { ContextTable } from '../abi/context-table';
import { defineMetric, definedMetricId, incrementMetric } from '../abi/metrics';
import { getBufferBytes, bufferData } from '../abi/buffer';
import { LogLine } from '../abi/log';
import { ascii } from '../common/ascii';
import { freeStatsConfig, parseStatsConfig, statsConfigError } from './stats-config';

/** Requests not counted because the series table is full, and refused configurations. */
let overflowId: u32 = 0;
let rejectedId: u32 = 0;
/** Ids are the host's (0 is a valid one): whether they were defined, and whether defining worked. */
let ownMetricsDefined = false;
let overflowOk = false;
let rejectedOk = false;

/** Defines the stats filters' own counters once per VM (the TCP filter shares them). */
export function defineOwnMetrics(): void {
  if (ownMetricsDefined) return;
  ownMetricsDefined = true;
  const r = ascii('wasmesh_stats_config_rejected');
  rejectedOk = defineMetric(MetricType.Counter, r.ptr, r.len) == Status.Ok;
  rejectedId = definedMetricId();
  const o = ascii('wasmesh_stats_series_overflow');
  overflowOk = defineMetric(MetricType.Counter, o.ptr, o.len) == Status.Ok;
  overflowId = definedMetricId();
}

/** Counts a request or connection not counted because the series table is full. */
export function countOverflow(): void {
  if (overflowOk) incrementMetric(overflowId, 1);
}

/** Logs and counts a refused configuration; returns false (the plugin fails closed). */
export function rejectConfig(filter: string, code: string, why: string, size: usize): bool {
  LogLine.start();
  LogLine.text(filter);
  LogLine.text(': plugin configuration rejected (');
  LogLine.text(code);
  LogLine.text(', ');
  LogLine.num(<i64>size);
  LogLine.text(' bytes): ');
  LogLine.text(why);
  LogLine.text('; the plugin fails closed');
  LogLine.emit(LogLevel.Error);
  if (rejectedOk) incrementMetric(rejectedId, 1);
  return false;
}

/** Reads and parses the plugin configuration of `rootId` into `table` (replacing and freeing the old one). */
export function configureStats(filter: string, table: ContextTable, rootId: u32, size: usize): bool {
  defineOwnMetrics();
  if (size > 0xffffffff || getBufferBytes(BufferType.PluginConfiguration, 0, size) != Status.Ok) {
    return rejectConfig(filter, 'wasmesh_stats_config_unreadable', 'proxy_get_buffer_bytes failed', size);
  }
  const block = bufferData();
  const rec: usize = block == 0 ? <usize>0 : parseStatsConfig(block, size);
  if (rec == 0) {
    if (block != 0) heap.free(block);
    return rejectConfig(filter, 'wasmesh_stats_config_invalid', block == 0 ? 'empty' : statsConfigError(), size);
  }
  const old = <usize>table.get(rootId, 0);
  if (old != 0) freeStatsConfig(old);
  table.set(rootId, <u32>rec);
  return true;
}

/** Frees the configuration of a deleted root context. */
export function deleteStatsConfig(table: ContextTable, rootId: u32): void {
  const old = <usize>table.get(rootId, 0);
  if (old != 0) freeStatsConfig(old);
  table.delete(rootId);
}
