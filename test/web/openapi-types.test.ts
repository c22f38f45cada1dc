// The console's API types are the server's own: the committed api/schema.d.ts must be what the
// server's OpenAPI document generates now, so a changed route, body or answer shows here and,
// once regenerated (npm run openapi), as a type error in the console, never as a broken screen.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { consoleTypes, SCHEMA_FILE } from '../../scripts/openapi-types.js';

describe('console API types', () => {
  it('api/schema.d.ts is what the server generates now (npm run openapi)', async () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8') === (await consoleTypes()), 'src/web/console/api/schema.d.ts is stale: run npm run openapi').toBe(true);
  });
});
