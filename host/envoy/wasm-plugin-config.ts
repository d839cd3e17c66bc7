// The `config` of an Envoy Wasm filter (envoy.extensions.wasm.v3.PluginConfig), as both the HTTP
// (envoy.filters.http.wasm) and the network (envoy.filters.network.wasm) filters take it: the
// root_id that selects the filter inside the module, the module and its VM, the plugin
// configuration as a BytesValue (Envoy hands its bytes to proxy_on_configure unchanged) and
// FAIL_CLOSED (a plugin that fails to load must not let traffic through unfiltered).
import type { Obj } from './istio-resources.js';

export function wasmPluginConfig(rootId: string, wasmPath: string, configuration: Uint8Array, vmId: string): Obj {
  return {
    name: rootId,
    root_id: rootId,
    vm_config: {
      vm_id: vmId,
      runtime: 'envoy.wasm.runtime.v8',
      code: { local: { filename: wasmPath } },
    },
    // BytesValue: Envoy hands the filter these bytes as they are (base64 only in YAML).
    configuration: { '@type': 'type.googleapis.com/google.protobuf.BytesValue', value: Buffer.from(configuration).toString('base64') },
    failure_policy: 'FAIL_CLOSED',
  };
}
