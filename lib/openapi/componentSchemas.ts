import { toJSONSchema, type $ZodType } from 'zod/v4/core';
import * as z from '../zod';
import type { JsonSchema } from './types';

/** Which side of the exchange a schema describes: what a client sends, or what it receives. */
export type Io = 'input' | 'output';

const COMPONENTS = '#/components/schemas/';
/** Where zod puts a named schema that is nested in others but not registered itself. */
const SHARED = `${COMPONENTS}__shared#/$defs/`;

/**
 * The document's schemas, converted by zod 4's own JSON Schema output: every
 * schema a route names becomes a component, under its id in zod's registry
 * (`.meta({ id })`) or the name its route gives it, and components refer to
 * each other by $ref. Requests are described as their input, responses as
 * their output; a task's payload is an input everywhere, since a record keeps
 * the payload as it was sent.
 */
export class ComponentSchemas {
  private readonly registries = { input: z.registry<{ id: string }>(), output: z.registry<{ id: string }>() };
  /** Schemas shown as their input even inside a response: task payloads. */
  private readonly alwaysInput = new Map<$ZodType, string>();

  /** A $ref to `schema`, described as `io`; `fallbackId` names it unless zod's registry does. */
  ref(schema: $ZodType, io: Io, fallbackId: string): JsonSchema {
    const registry = this.registries[io];
    const id = registry.get(schema)?.id ?? z.globalRegistry.get(schema)?.id ?? fallbackId;
    if (!registry.has(schema)) registry.add(schema, { id });
    return { $ref: COMPONENTS + id };
  }

  /** Registers a task's payload: described as its input wherever it appears. */
  payload(schema: $ZodType, fallbackId: string): JsonSchema {
    const ref = this.ref(schema, 'input', fallbackId);
    this.alwaysInput.set(schema, ref.$ref as string);
    return ref;
  }

  /** Every component, by id; throws if one id would read differently as input and as output. */
  components(): Record<string, JsonSchema> {
    const input = this.convert('input');
    const output = this.convert('output');
    for (const [id, schema] of Object.entries(output)) {
      if (id in input && JSON.stringify(input[id]) !== JSON.stringify(schema)) {
        throw new Error(`Schema "${id}" reads differently in a request and in a response: give each its own id`);
      }
    }
    const all = { ...input, ...output };
    return Object.fromEntries(Object.keys(all).sort().map((id) => [id, all[id]!]));
  }

  private convert(io: Io): Record<string, JsonSchema> {
    const { schemas } = toJSONSchema(this.registries[io], {
      io,
      uri: (id) => COMPONENTS + id,
      override: ({ zodSchema, jsonSchema }) => {
        const inputRef = io === 'output' ? this.alwaysInput.get(zodSchema) : undefined;
        if (inputRef) {
          for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
          jsonSchema.$ref = inputRef;
        }
        tidy(jsonSchema);
        // A union zod discriminates (z.discriminatedUnion) says so, for code generators.
        const discriminator = (zodSchema._zod.def as { discriminator?: string }).discriminator;
        if (discriminator && Array.isArray(jsonSchema.oneOf)) jsonSchema.discriminator = { propertyName: discriminator };
      },
    });
    const out: Record<string, JsonSchema> = {};
    for (const [id, converted] of Object.entries(schemas)) {
      const { $schema: _schema, $id: _id, $defs, ...rest } = JSON.parse(JSON.stringify(converted).replaceAll(SHARED, COMPONENTS)) as JsonSchema;
      if (id === '__shared') Object.assign(out, $defs);
      else out[id] = $defs ? { ...rest, $defs } : rest;
    }
    return out;
  }
}

/** Drops what only repeats zod's internals: the pattern beside a date-time format, and the safe-integer bounds of z.int(). */
function tidy(schema: JsonSchema): void {
  if (schema.format === 'date-time') delete schema.pattern;
  if (schema.maximum === Number.MAX_SAFE_INTEGER) delete schema.maximum;
  if (schema.minimum === Number.MIN_SAFE_INTEGER) delete schema.minimum;
}

/** `schema` as a stand-alone JSON Schema (a parameter's), described as its parsed value. */
export function inlineSchema(schema: $ZodType): JsonSchema {
  const { $schema: _schema, ...rest } = toJSONSchema(schema, { io: 'output', override: ({ jsonSchema }) => tidy(jsonSchema) }) as JsonSchema;
  return rest;
}
