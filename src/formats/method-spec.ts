// The schema of a method written as data (src/methods/spec.ts): what a `method` object in
// config.json or a --config file must look like. Its cross-field rules (branches in range, parts
// inside the batch) are checked by validateMethod.
import { z } from 'zod';
import { DEFENSE_KINDS, DISTRIBUTION_KINDS } from '../methods/index.js';

const count = z.number().int().nonnegative().max(1024);

export const distributionSpecSchema = z.strictObject({
  kind: z.enum(DISTRIBUTION_KINDS),
  targets: count.min(1),
  eps: z.number().nonnegative().finite(),
  iters: count,
  part: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).readonly(),
  branch: count.min(1),
});

/** A defense (EST, ACT, HM) in place of extra distributions; see src/methods/defenses.ts. */
export const defenseSpecSchema = z.strictObject({
  kind: z.enum(DEFENSE_KINDS),
  eps: z.number().nonnegative().finite(),
  iters: count,
  step: z.number().positive().finite().nullable(),
  margin: z.number().nonnegative().finite(),
  gradual: z.boolean(),
  intraClass: z.number().nonnegative().finite(),
});

export const methodSpecSchema = z.strictObject({
  name: z.string().min(1).max(100),
  branches: count.min(1).max(64),
  distributions: z.array(distributionSpecSchema).max(63).readonly(),
  defense: defenseSpecSchema.optional(),
});
