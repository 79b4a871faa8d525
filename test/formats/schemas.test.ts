// The published JSON Schema files are what the zod schemas say today, and they reject what the
// formats reject (a file that only looked right would pass a schema that allowed anything).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonSchemaOf, PUBLISHED_SCHEMAS } from '../../src/formats/index.js';
import { assertMatchesSchema, publishedSchema } from '../helpers/json-schema.js';

describe('published JSON Schemas', () => {
  it('schemas/ holds exactly the schemas the formats generate (run scripts/write-schemas.mjs after changing a format)', () => {
    for (const name of Object.keys(PUBLISHED_SCHEMAS)) assert.deepEqual(publishedSchema(name), jsonSchemaOf(name), name);
  });

  it('accept a well-formed eval output and reject a misspelt or out-of-range one', () => {
    const good = { clean: { 'recall@1': 0.5, 'map@r': 0.2, nmi: 0.4 }, attacks: [{ attack: 'stax', eps: 0.1, iters: 10, 'recall@1': 0.3, 'map@r': 0.1, success_rate: 0.2 }] };
    assertMatchesSchema('eval-output', good);
    const variants = [
      { ...good, extra: 1 },
      { ...good, attacks: [{ ...good.attacks[0], attack: 'stx' }] },
      { ...good, attacks: [{ ...good.attacks[0], 'recall@1': 1.5 }] },
      { ...good, attacks: [{ ...good.attacks[0], iters: 2.5 }] },
    ];
    for (const bad of variants) assert.throws(() => assertMatchesSchema('eval-output', bad), JSON.stringify(bad));
  });
});
