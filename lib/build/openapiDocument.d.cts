/** lib/build/openapiDocument.cjs, for the TypeScript that imports it (scripts/openapi.ts, tests). */
declare const openapiDocument: {
  buildOpenApiDocument(): import('../openapi/types').OpenApiDocument;
  esbuildPlugin: { name: string; setup(build: unknown): void };
};
export = openapiDocument;
