// `mdprop eval --run DIR [--weights FILE --arch NAME --embed-dim D] [--dataset NAME --data-root DIR]
//  [--attacks stax,mtax,untargeted,fgsm,ca+,ca-,qa+,qa-,es] [--eps LIST] [--iters N] [--branch K]
//  [--limit N] [--json] ...`
// Robustness of a trained model on its dataset's test split: clean retrieval, then every attack at
// every eps, the attacked queries retrieved from the clean gallery (the whole test split; a query
// never retrieves its own clean copy). Writes eval.json into the run directory (or next to
// --weights, or to --out). --json prints exactly
//   {"clean": {"recall@1", ..., "map@r", "nmi"}, "attacks": [{"attack", "eps", "iters", "recall@1", "map@r", "success_rate"?}, ...]}
// Bad flags exit 2 before any work, naming the flag.
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import {
  ATTACK_NAMES,
  buildReport,
  checkpointWeights,
  CleanGallery,
  contractOutput,
  disposeRange,
  embedSplit,
  evaluateRobustness,
  formatReport,
  GalleryClusters,
  isAttackName,
  isFile,
  loadModel,
  ModelSourceError,
  normalizedPixelRange,
  parseBudget,
  queryIndices,
  readRunSettings,
  RUN_WEIGHTS,
  splitQuerySource,
  type AttackName,
  type AttackRun,
  type Budget,
  type LoadedModel,
  type RunSettings,
} from '../../adversarial/index.js';
import { DATASET_NAMES, isDatasetName, isEmbedded, openDataset, testTransform, type DatasetName, type TestTransform } from '../../data/index.js';
import { ARCHS } from '../../nn/index.js';
import { resolveDevice, setNumThreads, tensor, writeFileAtomic } from '../../torch/index.js';
import { UsageError } from '../errors.js';
import { progressBar } from '../progress.js';

interface EvalFlags {
  readonly run?: string;
  readonly weights?: string;
  readonly arch?: string;
  readonly embedDim?: string;
  readonly dataset?: string;
  readonly dataRoot?: string;
  readonly attacks: string;
  readonly eps: string;
  readonly iters: string;
  readonly stepSize?: string;
  readonly randomStart: string;
  readonly norm: string;
  readonly mtaxTargets: string;
  readonly rankPartners: string;
  readonly branch: string;
  readonly limit?: string;
  readonly k?: string;
  readonly imageSize?: string;
  readonly testResize?: string;
  readonly batchSize: string;
  readonly seed?: string;
  readonly device: string;
  readonly threads?: string;
  readonly out?: string;
  readonly json?: boolean;
}

interface EvalPlan {
  readonly loaded: LoadedModel;
  readonly weights: string;
  readonly dataset: DatasetName;
  readonly root: string | undefined;
  readonly transform: TestTransform;
  readonly runs: AttackRun[];
  readonly limit: number | undefined;
  readonly ks: number[];
  readonly batchSize: number;
  readonly seed: number;
  readonly device: string;
  readonly branch: number;
  readonly norm: 'linf' | 'l2';
  readonly stepSize: Budget | undefined;
  readonly randomStart: number | 'budget';
  readonly mtaxTargets: number;
  readonly rankPartners: number;
  readonly out: string;
  readonly json: boolean;
  readonly flags: EvalFlags;
}

/** RobRank's share of the ranking that CA- and QA- draw their partners from. */
const TOP_FRACTION = 0.01;

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('retrieval under test-time adversarial attacks (attacked queries against the clean gallery)')
    .option('--run <dir>', 'run directory of mdprop train (config.json, model.safetensors, checkpoint/)')
    .option('--weights <file>', `safetensors weights (torchvision names); default: <run>/${RUN_WEIGHTS}`)
    .option('--arch <name>', `architecture: ${ARCHS.join(', ')} (default: from the run or the weights)`)
    .option('--embed-dim <D>', 'embedding dimension (default: from the run or the weights)')
    .option('--dataset <name>', `dataset: ${DATASET_NAMES.join(', ')} (default: the run's)`)
    .option('--data-root <dir>', 'folder the dataset was downloaded to (not for fashion-mnist, mnist)')
    .option('--attacks <list>', `comma-separated: ${ATTACK_NAMES.join(', ')}; or all`, 'stax,mtax,untargeted')
    .option('--eps <list>', 'budgets: numbers in normalized-input units (0.01) or pixel fractions (4/255)', '0.01,0.03,0.1')
    .option('--iters <n>', 'PGD iterations (fgsm always takes one step)', '10')
    .option('--step-size <s>', 'step per iteration, normalized units or a pixel fraction (default 2.5 eps / iters)')
    .option('--random-start <s>', "half-width of the uniform random start: 'eps', 'none' or a number in normalized units", 'eps')
    .option('--norm <name>', 'budget norm: linf or l2', 'linf')
    .option('--mtax-targets <T>', 'target images of mtax', '5')
    .option('--rank-partners <n>', 'queries per candidate (CA) and candidates per query (QA)', '1')
    .option('--branch <K>', 'batch-norm branch to evaluate (0 = clean; K > 0 reads <run>/checkpoint)', '0')
    .option('--limit <N>', 'a seeded subset of N queries (the gallery stays the whole test split)')
    .option('--k <list>', 'K values of Recall@K (default 1,2,4,8; sop 1,10,100,1000)')
    .option('--image-size <px>', "side of the test centre crop (default: the run's, else 28 / 224)")
    .option('--test-resize <px>', "shorter side before the crop (default: the run's, else 28 / 256)")
    .option('--batch-size <n>', 'images per attacked batch', '64')
    .option('--seed <n>', "seed of every random choice (default: the run's, else 0)")
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option('--threads <n>', 'CPU threads of libtorch')
    .option('--out <file>', 'where eval.json goes (default: the run directory, or next to --weights)')
    .option('--json', 'print the contract JSON instead of a table')
    .action(async (flags: EvalFlags) => {
      const plan = planEval(flags);
      try {
        await runEval(plan);
      } finally {
        plan.loaded.model.dispose();
      }
    });
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag}: expected a positive integer, got '${value}'`);
  return n;
}

function nonNegativeInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`${flag}: expected an integer >= 0, got '${value}'`);
  return n;
}

function listOf(flag: string, text: string): string[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`${flag}: expected a comma-separated list, got '${text}'`);
  return parts;
}

function parseAttacks(text: string): AttackName[] {
  if (text.trim().toLowerCase() === 'all') return [...ATTACK_NAMES];
  const names = listOf('--attacks', text.toLowerCase());
  for (const name of names) if (!isAttackName(name)) throw new UsageError(`--attacks: unknown attack '${name}'; expected some of ${ATTACK_NAMES.join(', ')}`);
  return [...new Set(names)] as AttackName[];
}

function parseBudgetFlag(flag: string, text: string): Budget {
  try {
    return parseBudget(text);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
}

function parseRandomStart(text: string): number | 'budget' {
  const t = text.trim().toLowerCase();
  if (t === 'eps') return 'budget';
  if (t === 'none') return 0;
  const n = Number(t);
  if (t === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--random-start: expected 'eps', 'none' or a number >= 0, got '${text}'`);
  return n;
}

function defaultKs(dataset: DatasetName): number[] {
  return dataset === 'sop' ? [1, 10, 100, 1000] : dataset === 'inshop' ? [1, 10, 20, 30, 40, 50] : [1, 2, 4, 8];
}

/** Checks every flag, reads the run and loads the model; throws UsageError naming the flag at fault. */
function planEval(flags: EvalFlags): EvalPlan {
  // Flags that need no file first, so a typo fails at once.
  const attacks = parseAttacks(flags.attacks);
  const budgets = listOf('--eps', flags.eps).map((t) => parseBudgetFlag('--eps', t));
  const iters = positiveInt('--iters', flags.iters);
  const stepSize = flags.stepSize === undefined ? undefined : parseBudgetFlag('--step-size', flags.stepSize);
  const randomStart = parseRandomStart(flags.randomStart);
  if (flags.norm !== 'linf' && flags.norm !== 'l2') throw new UsageError(`--norm: expected linf or l2, got '${flags.norm}'`);
  const norm = flags.norm;
  if (norm === 'l2') {
    const pixel = [...budgets, ...(stepSize ? [stepSize] : [])].find((b) => b.unit === 'pixel');
    if (pixel) throw new UsageError(`--norm l2 takes budgets in normalized units (plain numbers), got '${pixel.text}'`);
  }
  const mtaxTargets = positiveInt('--mtax-targets', flags.mtaxTargets);
  const rankPartners = positiveInt('--rank-partners', flags.rankPartners);
  const branch = nonNegativeInt('--branch', flags.branch);
  const limit = flags.limit === undefined ? undefined : positiveInt('--limit', flags.limit);
  const batchSize = positiveInt('--batch-size', flags.batchSize);
  const embedDim = flags.embedDim === undefined ? undefined : positiveInt('--embed-dim', flags.embedDim);
  if (flags.arch !== undefined && !(ARCHS as string[]).includes(flags.arch)) throw new UsageError(`--arch: unknown architecture '${flags.arch}'; expected one of ${ARCHS.join(', ')}`);
  if (flags.threads !== undefined) positiveInt('--threads', flags.threads);
  const kFlag = flags.k === undefined ? undefined : listOf('--k', flags.k).map((k) => positiveInt('--k', k));
  const seedFlag = flags.seed === undefined ? undefined : nonNegativeInt('--seed', flags.seed);
  const imageSizeFlag = flags.imageSize === undefined ? undefined : positiveInt('--image-size', flags.imageSize);
  const testResizeFlag = flags.testResize === undefined ? undefined : positiveInt('--test-resize', flags.testResize);
  let device: string;
  try {
    device = resolveDevice(flags.device);
  } catch (err) {
    throw new UsageError(`--device: ${(err as Error).message}`);
  }
  if (flags.run === undefined && flags.weights === undefined) throw new UsageError('--run: give a run directory (or --weights with --dataset)');

  let run: RunSettings = {};
  if (flags.run !== undefined) {
    try {
      run = readRunSettings(flags.run);
    } catch (err) {
      throw new UsageError(`--run: ${(err as Error).message}`);
    }
  }
  if (flags.dataset !== undefined && !isDatasetName(flags.dataset)) {
    throw new UsageError(`--dataset: unknown dataset '${flags.dataset}'; expected one of ${DATASET_NAMES.join(', ')}`);
  }
  const weights = flags.weights ?? weightsOfRun(flags.run!, branch);
  if (!isFile(weights)) throw new UsageError(`--weights: file not found: ${weights}`);
  let loaded: LoadedModel;
  try {
    loaded = loadModel({ weights, arch: flags.arch ?? run.arch, embedDim: embedDim ?? run.embedDim, inChannels: run.channels, branch });
  } catch (err) {
    if (err instanceof ModelSourceError) throw new UsageError(`${flags.weights ? '--weights' : '--run'}: ${err.message}`);
    throw err;
  }
  try {
    // The data settings: flags, then the run's config.json, then what the weights record.
    const datasetName = flags.dataset ?? run.dataset ?? loaded.info.dataset;
    if (datasetName === undefined) throw new UsageError('--dataset: required when neither the run nor the weights name one');
    if (!isDatasetName(datasetName)) throw new UsageError(`--dataset: unknown dataset '${datasetName}' (from ${weights}); expected one of ${DATASET_NAMES.join(', ')}`);
    const root = flags.dataRoot ?? (datasetName === run.dataset ? run.dataRoot : undefined);
    if (isEmbedded(datasetName) && flags.dataRoot !== undefined) throw new UsageError(`--data-root: ${datasetName} is embedded and takes no root`);
    if (!isEmbedded(datasetName) && root === undefined) throw new UsageError(`--data-root: required for ${datasetName}`);
    const ks = kFlag ?? defaultKs(datasetName);
    if (!ks.includes(1)) ks.unshift(1); // the contract reports recall@1
    const seed = seedFlag ?? run.seed ?? 0;
    const embedded = isEmbedded(datasetName);
    const imageSize = imageSizeFlag ?? run.imageSize ?? loaded.info.imageSize ?? (embedded ? 28 : 224);
    const testResize = testResizeFlag ?? run.testResize ?? loaded.info.testResize ?? (embedded ? imageSize : Math.round((imageSize * 256) / 224));
    if (imageSize > testResize) throw new UsageError(`--image-size (${imageSize}) must not exceed --test-resize (${testResize})`);
    if (loaded.inChannels !== 1 && loaded.inChannels !== 3) throw new UsageError(`--weights: the model takes ${loaded.inChannels} input channels; evaluation supports 1 or 3`);
    loaded.model.to(device);
    const transform = testTransform({ resize: testResize, crop: imageSize, channels: loaded.inChannels as 1 | 3 });
    const runs = attacks.flatMap((attack) => budgets.map((budget) => ({ attack, budget, iters: attack === 'fgsm' ? 1 : iters })));
    const out = flags.out ?? (flags.run !== undefined ? join(flags.run, 'eval.json') : join(dirname(weights), 'eval.json'));
    return {
      loaded,
      weights,
      dataset: datasetName,
      root,
      transform,
      runs,
      limit,
      ks: [...new Set(ks)],
      batchSize,
      seed,
      device,
      branch,
      norm,
      stepSize,
      randomStart,
      mtaxTargets,
      rankPartners,
      out,
      json: flags.json === true,
      flags,
    };
  } catch (err) {
    loaded.model.dispose();
    throw err;
  }
}

/** Branch 0: the run's best weights; other branches: the checkpoint, which holds every branch. */
function weightsOfRun(runDir: string, branch: number): string {
  if (branch === 0) return join(runDir, RUN_WEIGHTS);
  const full = checkpointWeights(runDir);
  if (full === null) throw new UsageError(`--branch ${branch}: ${runDir} has no checkpoint/model.safetensors with the auxiliary branches`);
  return full;
}

async function runEval(plan: EvalPlan): Promise<void> {
  if (plan.flags.threads !== undefined) setNumThreads(Number(plan.flags.threads));
  const { model } = plan.loaded;
  const embed = (x: Parameters<typeof model.forward>[0]) => model.forward(x);
  const dataset = await openDataset(plan.dataset, plan.root === undefined ? {} : { root: plan.root });
  const { query, gallery: gallerySplit, sameSet } = dataset.evaluation;

  const embedBar = progressBar('gallery', gallerySplit.size, 'img');
  let rows: Float32Array;
  let embedded = 0;
  try {
    rows = await embedSplit(embed, gallerySplit, {
      transform: plan.transform,
      batchSize: Math.max(plan.batchSize, 128),
      device: plan.device,
      onProgress: (done) => {
        embedBar.tick(done - embedded);
        embedded = done;
      },
    });
  } finally {
    embedBar.stop();
  }

  const galleryTensor = tensor(rows, [gallerySplit.size, plan.loaded.embedDim]);
  const gallery = new CleanGallery(plan.device === 'cpu' ? galleryTensor : galleryTensor.to(plan.device), gallerySplit.labels);
  galleryTensor.dispose();
  const clusters = new GalleryClusters(gallery, plan.seed);
  const range = normalizedPixelRange(plan.transform.mean, plan.transform.std, plan.device === 'cpu' ? undefined : plan.device);
  try {
    const indices = queryIndices(query.size, plan.limit, plan.seed);
    const queries = splitQuerySource(query, { indices, galleryIsSplit: sameSet, transform: plan.transform, batchSize: plan.batchSize });
    const bar = progressBar('eval', (plan.runs.length + 1) * queries.size, 'query');
    let result;
    try {
      let current: AttackRun | null | undefined;
      let last = 0;
      result = await evaluateRobustness(plan.runs, {
        embed,
        device: plan.device,
        gallery,
        clusters,
        queries,
        pgd: { norm: plan.norm, ...(plan.stepSize ? { stepSize: plan.stepSize } : {}), randomStart: plan.randomStart, range, std: plan.transform.std },
        suite: { mtaxTargets: plan.mtaxTargets, rankPartners: plan.rankPartners, topFraction: TOP_FRACTION, seed: plan.seed },
        ks: plan.ks,
        onProgress: (run, done) => {
          if (run !== current) [current, last] = [run, 0];
          bar.tick(done - last, run ? `${run.attack} eps ${run.budget.text}` : 'clean');
          last = done;
        },
      });
    } finally {
      bar.stop();
    }
    const report = buildReport(result.clean, result.runs, plan.ks, settingsOf(plan, queries.size, gallery.size));
    writeFileAtomic(plan.out, [Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8')]);
    process.stdout.write(plan.json ? `${JSON.stringify(contractOutput(report))}\n` : formatReport(report));
  } finally {
    disposeRange(range);
    clusters.dispose();
    gallery.dispose();
  }
}

function settingsOf(plan: EvalPlan, queries: number, gallery: number): Record<string, unknown> {
  return {
    run: plan.flags.run ?? null,
    weights: plan.weights,
    dataset: plan.dataset,
    data_root: plan.root ?? null,
    arch: plan.loaded.arch,
    embed_dim: plan.loaded.embedDim,
    branch: plan.branch,
    branches: plan.loaded.branches,
    image_size: plan.transform.crop,
    test_resize: plan.transform.resize,
    channels: plan.transform.channels,
    queries,
    gallery,
    limit: plan.limit ?? null,
    seed: plan.seed,
    norm: plan.norm,
    step_size: plan.stepSize?.text ?? '2.5*eps/iters',
    random_start: plan.randomStart === 'budget' ? 'eps' : plan.randomStart,
    mtax_targets: plan.mtaxTargets,
    rank_partners: plan.rankPartners,
    top_fraction: TOP_FRACTION,
    ks: plan.ks,
    device: plan.device,
  };
}
