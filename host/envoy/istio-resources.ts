// The plain-object vocabulary of the Envoy translation: Envoy configuration is built as JSON-like
// objects (`Obj`) and written out as YAML. (The translation once read raw Istio resources from
// here for what the resolved model lacked; the model now carries all of it.)

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
