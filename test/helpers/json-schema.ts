// Checks a value against one of the published JSON Schema files (schemas/), with a real JSON
// Schema validator, so the files users' tools read are tested, not only the zod schemas.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';

const ajv = new Ajv2020.default({ allErrors: true, strict: false });

export function publishedSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../../../schemas/${name}.schema.json`, import.meta.url)), 'utf8')) as Record<string, unknown>;
}

export function assertMatchesSchema(name: string, value: unknown): void {
  const validate = ajv.getSchema(`mdprop/schemas/${name}.schema.json`) ?? ajv.compile(publishedSchema(name));
  assert.ok(validate(value), `${name}: ${ajv.errorsText(validate.errors)}`);
}
