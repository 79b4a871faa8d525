// views.json in a run directory: what a report draws that needs the model and the images, computed
// once so `mdprop report` can redraw from files: a 2-D map of test embeddings and a retrieval
// gallery (queries with their nearest clean-gallery neighbours, clean and under one attack).
// Images are named by their index in the run's test split (query split for In-Shop).
import { z } from 'zod';

const index = z.number().int().nonnegative();

export const neighbourSchema = z.strictObject({ index, label: z.number().int(), correct: z.boolean() });

export const viewsSchema = z.strictObject({
  format: z.literal('mdprop.views/1'),
  /** Which split the indices refer to, and (for the gallery) which split neighbours come from. */
  query_split: z.string(),
  gallery_split: z.string(),
  map: z.strictObject({
    seed: z.number().int().nonnegative(),
    points: z.array(z.strictObject({ x: z.number(), y: z.number(), label: z.number().int(), index })),
  }),
  gallery: z.strictObject({
    attack: z.string(),
    eps: z.number().nonnegative(),
    iters: z.number().int().nonnegative(),
    k: z.number().int().positive(),
    queries: z.array(
      z.strictObject({
        index,
        label: z.number().int(),
        clean: z.array(neighbourSchema),
        attacked: z.array(neighbourSchema),
      }),
    ),
  }),
});

export type Neighbour = z.infer<typeof neighbourSchema>;
export type ViewsFile = z.infer<typeof viewsSchema>;
