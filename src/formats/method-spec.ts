// The schema of a method written as data: what a `method` object in config.json, a --config file
// or a METHOD.json file must look like. Its owner is src/methods/spec.ts, where the method's type
// is derived from it; the file readers name it here with the other formats.
export { defenseSpecSchema, distributionSpecSchema, methodSpecSchema } from '../methods/index.js';
