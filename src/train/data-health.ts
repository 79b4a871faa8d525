// What training should know about its data before it starts: images that cannot be decoded
// (dropped and listed with skipBadImages, else the first one stops the run where it is met),
// classes that cannot give a positive pair, and test splits on which retrieval means nothing.
import { unreadableImages, withoutImages, type Dataset, type DataSplit } from '../data/index.js';
import type { TrainConfig } from '../formats/index.js';

async function dropUnreadable(split: DataSplit, warnings: string[]): Promise<DataSplit> {
  const failures = await unreadableImages(split);
  if (failures.size === 0) return split;
  const list = [...failures.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => `  ${f.path}: ${f.reason}`);
  warnings.push(`skipping ${failures.size} unreadable image${failures.size === 1 ? '' : 's'} of the ${split.name} split:\n${list.join('\n')}`);
  return withoutImages(split, new Set(failures.keys()));
}

function classWarnings(split: DataSplit, warnings: string[]): void {
  const counts = new Map<number, number>();
  for (const label of split.labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  const empty = split.classNames.filter((_, label) => !counts.has(label));
  const single = [...counts].filter(([, n]) => n === 1).map(([label]) => split.classNames[label] ?? String(label));
  const name = `the ${split.name} split`;
  if (empty.length > 0) warnings.push(`${name} has ${empty.length} class${empty.length === 1 ? '' : 'es'} without images: ${empty.slice(0, 10).join(', ')}${empty.length > 10 ? ', ...' : ''}`);
  if (single.length > 0) warnings.push(`${name} has ${single.length} class${single.length === 1 ? '' : 'es'} with a single image (no positive pair): ${single.slice(0, 10).join(', ')}${single.length > 10 ? ', ...' : ''}`);
  if (split.name !== 'train' && counts.size < 2) warnings.push(`${name} holds ${counts.size} class${counts.size === 1 ? '' : 'es'}: retrieval metrics mean nothing there (Recall@K is trivially 1)`);
}

export interface SplitsToCheck {
  train: DataSplit;
  evaluation: Dataset['evaluation'];
}

/** The splits with unreadable images dropped (skipBadImages) and the warnings for the log. */
export async function checkTrainingData(data: SplitsToCheck, config: Pick<TrainConfig, 'skipBadImages'>): Promise<{ data: SplitsToCheck; warnings: string[] }> {
  const warnings: string[] = [];
  let { train, evaluation } = data;
  if (config.skipBadImages) {
    train = await dropUnreadable(train, warnings);
    const query = await dropUnreadable(evaluation.query, warnings);
    evaluation = { query, gallery: evaluation.sameSet ? query : await dropUnreadable(evaluation.gallery, warnings), sameSet: evaluation.sameSet };
  }
  classWarnings(train, warnings);
  classWarnings(evaluation.query, warnings);
  if (!evaluation.sameSet) classWarnings(evaluation.gallery, warnings);
  return { data: { train, evaluation }, warnings };
}
