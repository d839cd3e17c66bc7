// A zod schema of the project (host/config) → the OpenAPI v3 *structural* schema a Kubernetes
// CustomResourceDefinition carries, so the API server validates the Istio resources with the
// same fields and types as the file loader. zod 4's toJSONSchema (OpenAPI 3.0 target) gives
// the fields; Kubernetes' structural rules are then applied: every node typed, no $ref,
// no additionalProperties beside properties (nor `false`: pruning and strict field validation
// refuse unknown fields), no propertyNames, no const, and what a structural schema cannot say
// (a union, an open `unknown`) becomes x-kubernetes-preserve-unknown-fields, recorded by path.
import { z } from 'zod';

/** One node of a structural schema (apiextensions.k8s.io/v1 JSONSchemaProps, the fields used). */
export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-validations'?: Array<{ rule: string; message: string }>;
}

export interface StructuralResult {
  schema: StructuralSchema;
  /**
   * Dotted paths (`ingress[].tls`) where the schema could not say the zod schema's shape and
   * keeps whatever is written (x-kubernetes-preserve-unknown-fields): the loader still checks them.
   */
  preserved: string[];
}

export interface StructuralOptions {
  /**
   * Also accept each camelCase field under its protobuf name (`mirror_percent` beside
   * `mirrorPercent`), as the Istio schemas' `message()` does when it reads YAML. The alias is
   * not typed by the schema (see below) and not listed in `preserved`.
   */
  protoNames?: boolean;
}

/** Keywords of JSONSchemaProps kept as they are (the others are dropped or rewritten below). */
const KEPT = new Set(['description', 'x-kubernetes-validations', 'enum', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'nullable', 'required']);

type Json = Record<string, unknown>;

/** The structural schema of `schema` (a zod object schema), with the places that keep unknown fields. */
export function structuralSchema(schema: z.ZodType, options: StructuralOptions = {}): StructuralResult {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'output',
    unrepresentable: 'any',
    // Inline every reused sub-schema: a structural schema has no $ref.
    reused: 'inline',
    cycles: 'throw',
    override: (ctx) => {
      const def = (ctx.zodSchema as unknown as { _zod: { def: { type: string; params?: { expected?: string } } } })._zod.def;
      // A google.protobuf.Duration (istio-schemas.ts's `duration`, a z.custom) is a string such as "2s".
      if (def.type === 'custom' && def.params?.expected === 'duration') {
        for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Json)[k];
        Object.assign(ctx.jsonSchema, { type: 'string' });
      }
    },
  }) as Json;
  const preserved: string[] = [];
  const out = toStructural(json, '', preserved, options);
  return { schema: out, preserved };
}

function toStructural(node: Json, path: string, preserved: string[], options: StructuralOptions): StructuralSchema {
  const out: StructuralSchema = {};
  for (const key of Object.keys(node)) if (KEPT.has(key)) (out as Json)[key] = node[key];
  if ('const' in node) out.enum = [node['const']];
  const union = (node['anyOf'] ?? node['oneOf']) as Json[] | undefined;
  if (union !== undefined) {
    const types = union.map((u) => u['type']).sort();
    if (types.length === 2 && types[0] === 'integer' && types[1] === 'string') {
      // Kubernetes' IntOrString: the one union a structural schema has a word for.
      out['x-kubernetes-int-or-string'] = true;
      return out;
    }
    preserved.push(path || '(root)');
    out['x-kubernetes-preserve-unknown-fields'] = true;
    return out;
  }
  if ('$ref' in node || 'allOf' in node || 'not' in node) {
    throw new Error(`structural schema: ${path || '(root)'} has ${Object.keys(node).filter((k) => ['$ref', 'allOf', 'not'].includes(k)).join(', ')}, which a CRD schema cannot carry`);
  }
  const type = node['type'] as StructuralSchema['type'] | undefined;
  if (type === undefined) {
    // z.unknown() (any value): nothing to say about it but "keep it".
    preserved.push(path || '(root)');
    out['x-kubernetes-preserve-unknown-fields'] = true;
    return out;
  }
  out.type = type;
  if (type === 'array') {
    out.items = toStructural((node['items'] as Json | undefined) ?? {}, `${path}[]`, preserved, options);
  } else if (type === 'object') {
    const props = node['properties'] as Record<string, Json> | undefined;
    const extra = node['additionalProperties'];
    if (props !== undefined) {
      out.properties = {};
      for (const [name, child] of Object.entries(props)) {
        const childPath = path === '' ? name : `${path}.${name}`;
        out.properties[name] = toStructural(child, childPath, preserved, options);
      }
      if (options.protoNames === true) {
        for (const name of Object.keys(out.properties)) {
          const proto = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
          if (proto === name || proto in out.properties) continue;
          out.properties[proto] = protoAlias(name, out.properties[name]!);
          // Required under either name: `required` cannot say "one of", a CEL rule can.
          if (out.required?.includes(name)) {
            out.required = out.required.filter((r) => r !== name);
            (out['x-kubernetes-validations'] ??= []).push({ rule: `has(self.${name}) || has(self.${proto})`, message: `${name} is required` });
          }
        }
        if (out.required?.length === 0) delete out.required;
      }
      // additionalProperties beside properties is not structural; `false` is what pruning does anyway.
    } else if (extra !== undefined && extra !== false && typeof extra === 'object' && Object.keys(extra as Json).length > 0) {
      // A map (z.record): its values' schema.
      out.additionalProperties = toStructural(extra as Json, `${path}{}`, preserved, options);
    } else if (extra === true || (typeof extra === 'object' && extra !== null && Object.keys(extra).length === 0)) {
      preserved.push(path || '(root)');
      out['x-kubernetes-preserve-unknown-fields'] = true;
    }
  }
  return out;
}

/**
 * The schema of a field's protobuf-name alias: the field's own when it holds no message (scalars,
 * lists and maps of them); for a message only its type, open below. A full copy per name
 * doubles each nested message (DestinationRule grew past etcd's 1.5 MB object limit); the
 * loader checks the value under either name. Typed either way, so CEL rules can name it.
 */
function protoAlias(name: string, field: StructuralSchema): StructuralSchema {
  const description = `The protobuf name of ${name}, accepted as wasmesh's loader accepts it.`;
  const holdsMessage = (s: StructuralSchema): boolean => s.properties !== undefined || (s.items !== undefined && holdsMessage(s.items)) || (s.additionalProperties !== undefined && holdsMessage(s.additionalProperties));
  if (!holdsMessage(field)) return { ...field, description };
  if (field.type === 'array') return { type: 'array', description, items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };
  return { type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true };
}

/**
 * Kubernetes' structural-schema rules, checked on a finished schema: the problems found, by
 * path (empty when structural). The API server checks the same on create; this says where.
 */
export function structuralProblems(schema: StructuralSchema, path = ''): string[] {
  const at = path || '(root)';
  const problems: string[] = [];
  const node = schema as Json;
  for (const banned of ['$ref', 'anyOf', 'oneOf', 'allOf', 'not', 'const', 'propertyNames', 'definitions', '$defs', '$schema', 'patternProperties', 'additionalItems', 'dependencies', 'id']) {
    if (banned in node) problems.push(`${at}: has ${banned}`);
  }
  const open = schema['x-kubernetes-preserve-unknown-fields'] === true || schema['x-kubernetes-int-or-string'] === true;
  if (schema.type === undefined && !open) problems.push(`${at}: no type`);
  if (schema.properties !== undefined && schema.additionalProperties !== undefined) problems.push(`${at}: properties and additionalProperties together`);
  if ((node['additionalProperties'] as unknown) === false || (node['additionalProperties'] as unknown) === true) problems.push(`${at}: additionalProperties is a boolean`);
  if (schema.properties !== undefined && schema.type !== 'object') problems.push(`${at}: properties on a ${schema.type ?? 'untyped'} node`);
  if (schema.items !== undefined && schema.type !== 'array') problems.push(`${at}: items on a ${schema.type ?? 'untyped'} node`);
  if (schema.type === 'array' && schema.items === undefined) problems.push(`${at}: array without items`);
  for (const [name, child] of Object.entries(schema.properties ?? {})) problems.push(...structuralProblems(child, path === '' ? name : `${path}.${name}`));
  if (schema.additionalProperties !== undefined) problems.push(...structuralProblems(schema.additionalProperties, `${path}{}`));
  if (schema.items !== undefined) problems.push(...structuralProblems(schema.items, `${path}[]`));
  for (const r of schema.required ?? []) if (schema.properties === undefined || !(r in schema.properties)) problems.push(`${at}: required ${r} is not a property`);
  return problems;
}
