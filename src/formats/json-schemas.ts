// JSON Schema versions of the formats, for tools outside TypeScript. `schemas/<name>.schema.json`
// in the package is generated from these zod schemas (scripts/write-schemas.mjs after a build) and
// a test keeps the committed files equal to them.
import { z } from 'zod';
import { comparisonSchema } from './comparison-file.js';
import { configSchema } from './config-file.js';
import { evalFileSchema, evalOutputSchema } from './eval-file.js';
import { experimentSchema } from './experiment-file.js';
import { indexItemSchema, indexManifestSchema } from './index-manifest.js';
import { metricsLineSchema } from './metrics-log.js';
import { metricValuesSchema, summarySchema } from './summary-file.js';

/** File name stem -> [what it describes, schema]. */
export const PUBLISHED_SCHEMAS: Readonly<Record<string, readonly [string, z.ZodType]>> = {
  'eval-output': ['what `mdprop eval --json` prints', evalOutputSchema],
  'eval-file': ['eval.json in a run directory', evalFileSchema],
  summary: ['summary.json, and what `mdprop train` prints', summarySchema],
  config: ['config.json in a run directory', configSchema],
  comparison: ['what `mdprop compare --json` prints, and comparison.json', comparisonSchema],
  'metrics-output': ['what `mdprop metrics --json` prints', metricValuesSchema],
  'metrics-line': ['one line of metrics.jsonl', metricsLineSchema],
  experiment: ['experiment.json, and what `mdprop experiment --json` prints', experimentSchema],
  'index-manifest': ['manifest.json in a gallery index directory (mdprop index build)', indexManifestSchema],
  'index-item': ['one line of items.jsonl in a gallery index directory', indexItemSchema],
};

/** The JSON Schema document of one published format. */
export function jsonSchemaOf(name: string): Record<string, unknown> {
  const entry = PUBLISHED_SCHEMAS[name];
  if (entry === undefined) throw new Error(`no published schema '${name}'; known: ${Object.keys(PUBLISHED_SCHEMAS).join(', ')}`);
  const [description, schema] = entry;
  return { $id: `mdprop/schemas/${name}.schema.json`, title: `mdprop ${name}`, description, ...z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) };
}
