// Writes schemas/<name>.schema.json from the built formats (run after `npm run build`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { jsonSchemaOf, PUBLISHED_SCHEMAS } = await import(join(root, 'dist/src/formats/json-schemas.js'));
mkdirSync(join(root, 'schemas'), { recursive: true });
for (const name of Object.keys(PUBLISHED_SCHEMAS)) {
  writeFileSync(join(root, 'schemas', `${name}.schema.json`), `${JSON.stringify(jsonSchemaOf(name), null, 2)}\n`);
}
console.log(`wrote ${Object.keys(PUBLISHED_SCHEMAS).length} schemas to schemas/`);
