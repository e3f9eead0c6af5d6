import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';
import type { OpenApiDocument } from '../../lib/openapi/types';

/** A response as a test saw it: from the api handler, or over HTTP. */
export interface SeenResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

/**
 * Checks real responses against an OpenAPI document: the status is one the
 * operation documents, the body matches its schema (ajv, JSON Schema 2020-12,
 * formats checked), and every header it documents is there. Records what it
 * checked, so a test can say which documented answers it never provoked.
 */
export function conformance(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  // The whole document as one schema resource, so "#/components/schemas/..." resolves as in the document.
  ajv.addSchema(doc as unknown as object, 'openapi.json');
  const seen = new Set<string>();

  const check = (method: string, path: string, res: SeenResponse) => {
    const operation = doc.paths[path]?.[method.toLowerCase()];
    expect(operation, `${method} ${path} is documented`).toBeDefined();
    const listed = operation!.responses[String(res.status)];
    const documented = listed && '$ref' in listed ? doc.components.responses[listed.$ref.split('/').at(-1)!] : listed;
    expect(documented, `${method} ${path} documents ${res.status}: ${JSON.stringify(res.body)}`).toBeDefined();
    const schema = documented!.content?.['application/json']?.schema;
    expect(schema, `${method} ${path} ${res.status} has a JSON schema`).toBeDefined();
    expectValid(schema!.$ref as string, res.body, `${method} ${path} ${res.status}`);
    for (const header of Object.keys(documented!.headers ?? {})) {
      expect(res.headers[header.toLowerCase()], `${method} ${path} ${res.status} sends ${header}`).toBeTruthy();
    }
    seen.add(`${method.toUpperCase()} ${path} ${res.status}`);
  };

  const expectValid = (ref: string, body: unknown, label: string) => {
    const validate = ajv.getSchema(`openapi.json${ref}`);
    expect(validate, `${ref} resolves`).toBeDefined();
    const ok = validate!(body);
    expect(ok, `${label}: ${ajv.errorsText(validate!.errors)}\n${JSON.stringify(body).slice(0, 500)}`).toBe(true);
  };

  return {
    check,
    /** A body against a component schema (an answer no single operation documents, such as 404 for an unknown path). */
    matches: (component: string, body: unknown) => expectValid(`#/components/schemas/${component}`, body, component),
    /** Every documented `METHOD path status` that no check saw. */
    unseen: () =>
      Object.entries(doc.paths).flatMap(([path, operations]) =>
        Object.entries(operations).flatMap(([method, op]) => Object.keys(op.responses).map((s) => `${method.toUpperCase()} ${path} ${s}`)),
      ).filter((key) => !seen.has(key)),
  };
}
