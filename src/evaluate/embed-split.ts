// The one loop that embeds a split: the evaluation loader (test transform, prefetching), a
// forward per batch without gradients, the rows gathered on the host in split order.
import { evaluationLoader, type DataSplit, type Transform } from '../data/index.js';
import * as T from '../torch/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';

/** Images [n, C, H, W] -> embeddings [n, D]. */
export type EmbedFn = (images: Tensor) => Tensor;

export interface EmbedSplitOptions {
  transform: Transform;
  batchSize: number;
  device: string;
  /** After each batch: images done and in total. */
  onProgress?: (done: number, total: number) => void;
}

/** Embeddings [N, D] (row-major) of every image of a split, in split order. */
export async function embedSplit(embed: EmbedFn, split: DataSplit, options: EmbedSplitOptions): Promise<{ rows: Float32Array; dim: number }> {
  const loader = evaluationLoader(split, { batchSize: options.batchSize, transform: options.transform });
  let out: Float32Array | null = null;
  let dim = 0;
  let done = 0;
  for await (const batch of loader.epoch()) {
    const rows = tidy(() => noGrad(() => embed(T.tensor(batch.images, [...batch.shape]).to(options.device)).to('cpu').contiguous().toFloat32Array()));
    dim = rows.length / batch.shape[0];
    out ??= new Float32Array(split.size * dim);
    out.set(rows, done * dim);
    done += batch.shape[0];
    options.onProgress?.(done, split.size);
  }
  if (out === null) throw new Error(`${split.dataset} ${split.name}: no images to embed`);
  return { rows: out, dim };
}
