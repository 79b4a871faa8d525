// The allowances PyTorch users rely on when weights come from elsewhere, applied by name before a
// state dict meets a model:
// - a `module.` prefix on every key (what nn.DataParallel and DistributedDataParallel save) is
//   removed, as torch.nn.modules.utils.consume_prefix_in_state_dict_if_present does;
// - BatchNorm's `num_batches_tracked` counters may be absent (many converters drop them and
//   PyTorch's BatchNorm accepts files without them): the model keeps its own;
// - with `freshHead`, a head `fc.*` of another shape (1000 ImageNet classes against a D-dim
//   embedding) is left as the model initialised it.
// Everything else must match exactly; what was not taken from the file is reported.

const PREFIX = 'module.';

export function isBatchCounter(name: string): boolean {
  return name === 'num_batches_tracked' || name.endsWith('.num_batches_tracked');
}

/** The file's names as the model knows them: `module.` removed when every key carries it. */
export function modelNames(fileNames: readonly string[]): { names: Map<string, string>; strippedPrefix: boolean } {
  const strip = fileNames.length > 0 && fileNames.every((n) => n.startsWith(PREFIX));
  return { names: new Map(fileNames.map((n) => [n, strip ? n.slice(PREFIX.length) : n])), strippedPrefix: strip };
}

export interface EntryShape {
  readonly shape: readonly number[];
}

export interface LoadPlan {
  /** File name -> model name of each entry to load. */
  take: Map<string, string>;
  /** Model keys that keep the model's own values (absent counters, a fresh head). */
  keepOwn: string[];
  /** File entries of a head that does not fit, left out. */
  droppedHead: string[];
  strippedPrefix: boolean;
  /** Lines for a log: what was not taken from the file, and why. */
  notes: string[];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Which file entries go where, given the model's entries and the file's (names and shapes only).
 * Mismatches the rules do not cover are left for the strict load to name.
 */
export function planLoad(own: ReadonlyMap<string, EntryShape>, file: ReadonlyMap<string, EntryShape>, options: { freshHead?: boolean } = {}): LoadPlan {
  const { names, strippedPrefix } = modelNames([...file.keys()]);
  const byModelName = new Map([...names].map(([fileName, modelName]) => [modelName, fileName]));
  const notes: string[] = [];
  if (strippedPrefix) notes.push(`the prefix '${PREFIX}' (a DataParallel model's) was removed from every key`);
  const take = new Map(names);
  const keepOwn: string[] = [];
  const droppedHead: string[] = [];
  if (options.freshHead) {
    const ownHead = [...own.keys()].filter((k) => k.startsWith('fc.'));
    const fits = ownHead.every((k) => byModelName.has(k) && sameShape(file.get(byModelName.get(k)!)!.shape, own.get(k)!.shape));
    if (!fits) {
      const fileHead = [...byModelName.keys()].filter((k) => k.startsWith('fc.'));
      for (const k of fileHead) {
        droppedHead.push(k);
        take.delete(byModelName.get(k)!);
      }
      keepOwn.push(...ownHead);
      const shapes = fileHead.map((k) => `${k} [${file.get(byModelName.get(k)!)!.shape.join(', ')}]`).join(', ') || 'none';
      notes.push(`the file's head (${shapes}) does not fit the model's (${ownHead.map((k) => `${k} [${own.get(k)!.shape.join(', ')}]`).join(', ')}); the head starts freshly initialised`);
    }
  }
  const counters = [...own.keys()].filter((k) => isBatchCounter(k) && !byModelName.has(k));
  if (counters.length > 0) {
    keepOwn.push(...counters);
    notes.push(`${counters.length} BatchNorm num_batches_tracked counters are absent from the file; the model's own are kept`);
  }
  return { take, keepOwn, droppedHead, strippedPrefix, notes };
}
