/**
 * `npm run openapi`: writes the api's OpenAPI document to openapi.json, the
 * same document the api serves at GET /openapi.json (both are built by
 * lib/build/openapiDocument.cjs). test/integration/openapi.test.ts fails when
 * the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import openapi from '../lib/build/openapiDocument.cjs';

const file = join(__dirname, '..', 'openapi.json');
writeFileSync(file, `${JSON.stringify(openapi.buildOpenApiDocument(), null, 2)}\n`);
console.log(`wrote ${file}`);
