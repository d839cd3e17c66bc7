// istioctl's `-o json`: it re-marshals each resource with protojson (Go's proto3 JSON), so its
// output has the lowerCamelCase JSON names (`filterChains`, `typedConfig`), 64-bit integers as
// strings, enums by name and no unpopulated proto3 scalars — where an Envoy /config_dump (and
// wasmesh's) has the .proto names. This walks a dumped resource against Envoy's message types
// (the protos the xDS side loads, host/xds/envoy-protos.ts) and rewrites it that way: into Any
// by its `@type`, leaving Struct/Value contents (plain JSON with the user's own keys) as they are.
// An Any of a type the loaded API does not hold keeps its body as dumped.
import type protobuf from 'protobufjs';
import { envoyProtos } from '../../xds/envoy-protos.js';

type Json = Record<string, unknown>;

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

const camel = (name: string): string => name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** The resource `json` of message type `typeName` (`envoy.config.cluster.v3.Cluster`) in protojson's form. */
export function toProtoJson(typeName: string, json: unknown): unknown {
  const root = envoyProtos();
  return message(root, root.lookupType(typeName), json);
}

function message(root: protobuf.Root, type: protobuf.Type, json: unknown): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  switch (type.fullName) {
    case '.google.protobuf.Any':
      return any(root, json as Json);
    // A wrapper's JSON is its bare value (a 64-bit one as a string).
    case '.google.protobuf.Int64Value':
    case '.google.protobuf.UInt64Value':
      return 'value' in (json as Json) ? String((json as Json).value) : json;
    case '.google.protobuf.DoubleValue':
    case '.google.protobuf.FloatValue':
    case '.google.protobuf.Int32Value':
    case '.google.protobuf.UInt32Value':
    case '.google.protobuf.BoolValue':
    case '.google.protobuf.StringValue':
    case '.google.protobuf.BytesValue':
      return 'value' in (json as Json) ? (json as Json).value : json;
    case '.google.protobuf.Struct':
    case '.google.protobuf.Value':
    case '.google.protobuf.ListValue':
      return json;
    default:
      break;
  }
  const out: Json = {};
  for (const [key, v] of Object.entries(json as Json)) {
    // The dump's `@type` on an unwrapped resource: protojson prints the message itself, without it.
    if (key === '@type') continue;
    const field = type.fields[key] ?? type.fieldsArray.find((f) => camel(f.name) === key);
    // Not a field of the type (a newer Envoy's): kept, named as protojson would.
    if (field === undefined) {
      out[camel(key)] = v;
      continue;
    }
    field.resolve();
    if (field.map) {
      if (typeof v !== 'object' || v === null) continue;
      const m: Json = {};
      for (const [k, x] of Object.entries(v as Json)) m[k] = single(root, field, x);
      if (Object.keys(m).length > 0) out[camel(field.name)] = m;
    } else if (field.repeated) {
      if (!Array.isArray(v) || v.length === 0) continue;
      out[camel(field.name)] = v.map((x) => single(root, field, x));
    } else {
      if (unpopulated(field, v)) continue;
      out[camel(field.name)] = single(root, field, v);
    }
  }
  return out;
}

/** A proto3 scalar or enum at its default, outside a oneof and not `optional`: protojson leaves it out. */
function unpopulated(field: protobuf.Field, v: unknown): boolean {
  if (field.partOf !== null || (field.options as Record<string, unknown> | undefined)?.proto3_optional === true) return false;
  const t = field.resolvedType;
  if (t !== null && 'fields' in t) return v === null;
  if (t !== null && 'values' in t) {
    const values = (t as protobuf.Enum).values;
    return v === 0 || (typeof v === 'string' && values[v] === 0);
  }
  return v === 0 || v === '0' || v === false || v === '' || v === null;
}

function single(root: protobuf.Root, field: protobuf.Field, v: unknown): unknown {
  const t = field.resolvedType;
  if (t !== null && 'fields' in t) return message(root, t as protobuf.Type, v);
  if (t !== null && 'values' in t && typeof v === 'number') return (t as protobuf.Enum).valuesById[v] ?? v;
  if (INT64.has(field.type) && typeof v === 'number') return String(v);
  return v;
}

function any(root: protobuf.Root, json: Json): unknown {
  const url = json['@type'];
  if (typeof url !== 'string') return json;
  let type: protobuf.Type;
  try {
    type = root.lookupType(url.slice(url.lastIndexOf('/') + 1));
  } catch {
    return json;
  }
  // Well-known types carry their JSON form in "value".
  if (type.fullName.startsWith('.google.protobuf.')) return json;
  const rest = { ...json };
  delete rest['@type'];
  return { '@type': url, ...(message(root, type, rest) as Json) };
}

/**
 * Go's json.MarshalIndent, which istioctl prints the list with, escapes `<`, `>`, `&`, U+2028
 * and U+2029 in strings (its HTML-safe default).
 */
export function goJsonIndent(value: unknown, indent: number): string {
  return JSON.stringify(value, null, indent).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
