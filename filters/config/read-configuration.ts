// Reads and checks a filter's PLUGIN_CONFIGURATION in proxy_on_configure; a refused
// configuration is logged at ERROR with its stable code and counted, and the caller returns
// false so that Envoy fails the plugin (closed) instead of routing with a bad table.
import { BufferType, LogLevel, Status } from '../abi/abi-types';
import { getBufferBytes, bufferData } from '../abi/buffer';
import { LogLine } from '../abi/log';
import { configCheck, configErrorCode, configErrorReason, configTableStatus, ConfigError } from './plugin-config';
import { Metric, count, flushMetrics } from '../metrics/filter-metrics';

/** Logs why a configuration was refused, with its stable code. */
function logConfigRejected(filter: string, e: ConfigError, size: usize): void {
  LogLine.start();
  LogLine.text(filter);
  LogLine.text(': plugin configuration rejected (');
  LogLine.text(configErrorCode(e));
  LogLine.text(', ');
  LogLine.num(<i64>size);
  LogLine.text(' bytes): ');
  LogLine.text(configErrorReason(e));
  if (e == ConfigError.BadRouteTable) {
    LogLine.text(' with RouteStatus ');
    LogLine.num(configTableStatus());
  }
  LogLine.text('; the plugin fails closed and no request is routed by it');
  LogLine.emit(LogLevel.Error);
}

/**
 * Reads this root context's PLUGIN_CONFIGURATION block; returns it (the caller owns it) or 0
 * after logging, with `filter` naming the filter in the log line.
 */
export function readConfiguration(filter: string, size: usize, needTable: bool): usize {
  if (size > 0xffffffff || getBufferBytes(BufferType.PluginConfiguration, 0, size) != Status.Ok) {
    LogLine.start();
    LogLine.text(filter);
    LogLine.text(': plugin configuration unreadable (wasmesh_config_unreadable): proxy_get_buffer_bytes failed');
    LogLine.emit(LogLevel.Error);
    count(Metric.ConfigRejected);
    flushMetrics();
    return 0;
  }
  const block = bufferData();
  const e = configCheck(block, <u32>size, needTable);
  if (e != ConfigError.Ok) {
    logConfigRejected(filter, e, size);
    count(Metric.ConfigRejected);
    // A refused root gets no tick: the count must reach /stats now.
    flushMetrics();
    if (block != 0) heap.free(block);
    return 0;
  }
  return block;
}
