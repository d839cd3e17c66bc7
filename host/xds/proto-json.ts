// Proto3's JSON mapping, for the Envoy configuration wasmesh writes as JSON (the same objects
// `wasmesh envoy-config` prints as YAML): the well-known types protobufjs's fromObject does not
// read from their JSON form — Duration ("5s"), Timestamp, the wrapper types (plain values),
// Struct/Value/ListValue (plain JSON), Any ({"@type": …, …fields}) — are converted field by
// field against the message type, then protobufjs builds and encodes the message. An unknown
// field is an error naming its path, as protoc's JSON parser does.
import type protobuf from 'protobufjs';

export class ProtoJsonError extends Error {
  readonly code = 'PROTO_JSON_INVALID';
  constructor(path: string, detail: string) {
    super(`${path}: ${detail} (PROTO_JSON_INVALID)`);
    this.name = 'ProtoJsonError';
  }
}

const WRAPPERS = new Set([
  '.google.protobuf.DoubleValue', '.google.protobuf.FloatValue', '.google.protobuf.Int64Value', '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value', '.google.protobuf.UInt32Value', '.google.protobuf.BoolValue', '.google.protobuf.StringValue',
  '.google.protobuf.BytesValue',
]);

/** "1.5s", "0.000001s", "-2s" → seconds and nanos (proto3 JSON for Duration). */
function duration(v: unknown, path: string): { seconds: number; nanos: number } {
  if (typeof v !== 'string') throw new ProtoJsonError(path, `a Duration is a string like "5s", got ${JSON.stringify(v)}`);
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v);
  if (!m) throw new ProtoJsonError(path, `${JSON.stringify(v)} is not a Duration (seconds with up to 9 decimals and an "s")`);
  const sign = m[1] ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
}

function timestamp(v: unknown, path: string): { seconds: number; nanos: number } {
  const ms = typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw new ProtoJsonError(path, `${JSON.stringify(v)} is not an RFC 3339 timestamp`);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

// google.protobuf.Value's fields are camelCase (protobufjs's bundled copy of struct.proto, which
// keepCase does not reach).
function value(v: unknown, path: string): object {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map((x, i) => value(x, `${path}[${i}]`)) } };
  if (typeof v === 'object') return { structValue: struct(v, path) };
  throw new ProtoJsonError(path, `${typeof v} cannot be a google.protobuf.Value`);
}

function struct(v: unknown, path: string): object {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtoJsonError(path, 'a Struct is a JSON object');
  const fields: Record<string, object> = {};
  for (const [k, x] of Object.entries(v)) fields[k] = value(x, `${path}.${k}`);
  return { fields };
}

/** The field of `type` a JSON key names (the .proto name, or its lowerCamelCase JSON name). */
function fieldOf(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const f = type.fields[key];
  if (f) return f;
  for (const candidate of type.fieldsArray) if (candidate.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()) === key) return candidate;
  return undefined;
}

function single(field: protobuf.Field, v: unknown, root: protobuf.Root, path: string): unknown {
  field.resolve();
  const t = field.resolvedType;
  if (t === null || !('fields' in t)) return v; // scalars and enums (by name or number)
  const type = t as protobuf.Type;
  switch (type.fullName) {
    case '.google.protobuf.Duration':
      return duration(v, path);
    case '.google.protobuf.Timestamp':
      return timestamp(v, path);
    case '.google.protobuf.Struct':
      return struct(v, path);
    case '.google.protobuf.Value':
      return value(v, path);
    case '.google.protobuf.ListValue':
      if (!Array.isArray(v)) throw new ProtoJsonError(path, 'a ListValue is a JSON array');
      return { values: v.map((x, i) => value(x, `${path}[${i}]`)) };
    case '.google.protobuf.Any':
      return anyOf(v, root, path);
    default:
      if (WRAPPERS.has(type.fullName)) return typeof v === 'object' && v !== null ? v : { value: v };
      return messageObject(type, v, root, path);
  }
}

/** {"@type": url, …fields} → {type_url, value: the encoded message}. */
function anyOf(v: unknown, root: protobuf.Root, path: string): { type_url: string; value: Uint8Array } {
  if (typeof v !== 'object' || v === null) throw new ProtoJsonError(path, 'an Any is a JSON object with "@type"');
  const { '@type': url, ...rest } = v as Record<string, unknown>;
  if (typeof url !== 'string') throw new ProtoJsonError(path, 'an Any needs "@type"');
  const name = url.slice(url.lastIndexOf('/') + 1);
  let type: protobuf.Type;
  try {
    type = root.lookupType(name);
  } catch {
    throw new ProtoJsonError(path, `"@type" ${url} is not a message of the loaded Envoy API`);
  }
  // Well-known types carry their JSON form in "value".
  const body = WRAPPERS.has(type.fullName) || type.fullName.startsWith('.google.protobuf.') ? single(fakeField(type), rest.value, root, `${path}.value`) : messageObject(type, rest, root, path);
  return { type_url: url, value: type.encode(type.fromObject(body as Record<string, unknown>)).finish() };
}

function fakeField(type: protobuf.Type): protobuf.Field {
  return { resolve() {}, resolvedType: type } as unknown as protobuf.Field;
}

/** The protobufjs plain object for `json` read as message `type`. */
export function messageObject(type: protobuf.Type, json: unknown, root: protobuf.Root, path = type.name): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ProtoJsonError(path, `${type.fullName.slice(1)} is a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(json)) {
    if (v === undefined) continue;
    const field = fieldOf(type, key);
    if (!field) throw new ProtoJsonError(`${path}.${key}`, `no such field in ${type.fullName.slice(1)}`);
    const at = `${path}.${key}`;
    if (field.map) {
      if (typeof v !== 'object' || v === null) throw new ProtoJsonError(at, 'a map is a JSON object');
      const m: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) m[k] = single(field, x, root, `${at}.${k}`);
      out[field.name] = m;
    } else if (field.repeated) {
      if (!Array.isArray(v)) throw new ProtoJsonError(at, 'a repeated field is a JSON array');
      out[field.name] = v.map((x, i) => single(field, x, root, `${at}[${i}]`));
    } else {
      out[field.name] = single(field, v, root, at);
    }
  }
  return out;
}

/** Encodes `json` (proto3 JSON) as message `typeName` of `root`. */
export function encodeJson(root: protobuf.Root, typeName: string, json: unknown): Uint8Array {
  const type = root.lookupType(typeName);
  return type.encode(type.fromObject(messageObject(type, json, root))).finish();
}

/** `json` as a google.protobuf.Any of `typeUrl` (the resource form xDS carries). */
export function anyFromJson(root: protobuf.Root, typeUrl: string, json: unknown): { type_url: string; value: Uint8Array } {
  return { type_url: typeUrl, value: encodeJson(root, typeUrl.slice(typeUrl.lastIndexOf('/') + 1), json) };
}
