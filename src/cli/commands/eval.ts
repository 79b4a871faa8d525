// `mdprop eval --run DIR [--weights FILE] [--profile rob28|rob224] [--attacks ...] [--eps LIST] [--iters N] [--limit N] [--json] ...`
// Maps flags onto evaluate()'s options (src/evaluate) and prints the table, or with --json exactly
//   {"clean": {"recall@1", ..., "map@r", "map_c", "nmi"}, "attacks": [{"attack", "eps", "iters", "recall@1", "map@r", "success_rate"?}, ...],
//    "ers"?: [{"eps", "eps_text", "iters", "score", "components": {"CA+": {"raw", "rescaled"}, ...}, "missing"}]}
// Bad flags exit 2 before any work, naming the flag.
import type { Command } from 'commander';
import { ATTACK_NAMES, PROFILE_NAMES, PROFILES, type AttackName } from '../../adversarial/index.js';
import { DATASET_NAMES } from '../../data/index.js';
import { contractOutput, evaluate, EVALUATE_DEFAULTS, formatReport, OptionError, type EvaluateOptions, type EvalProgress } from '../../evaluate/index.js';
import { RUN_FILES } from '../../formats/index.js';
import { ARCHS, MEMORY_FORMATS, PRECISIONS } from '../../nn/index.js';
import { computeModeFlags } from '../compute-mode.js';
import { UsageError } from '../errors.js';
import { processStreams, type CliStreams } from '../io.js';
import { asUsage, integerFlag, integerListFlag, listFlag } from '../parse.js';
import { progressTo } from '../progress.js';

type EvalFlags = Record<'attacks' | 'eps' | 'iters' | 'randomStart' | 'norm' | 'mtaxTargets' | 'rankPartners' | 'branch' | 'batchSize' | 'device', string> &
  Partial<Record<'profile' | 'run' | 'weights' | 'arch' | 'embedDim' | 'dataset' | 'dataRoot' | 'stepSize' | 'limit' | 'limitTest' | 'k' | 'imageSize' | 'testResize' | 'seed' | 'threads' | 'out' | 'precision' | 'memoryFormat', string>> & {
    json?: boolean;
  };

export function registerEval(program: Command, io: CliStreams = processStreams): void {
  program
    .command('eval')
    .description('retrieval under test-time adversarial attacks (attacked queries against the clean gallery)')
    .option('--run <dir>', 'run directory of mdprop train (config.json, model.safetensors)')
    .option('--weights <file>', `model file (torchvision names); default: <run>/${RUN_FILES.model}`)
    .option('--arch <name>', `architecture: ${ARCHS.join(', ')} (default: from the run or the weights)`)
    .option('--embed-dim <D>', 'embedding dimension (default: from the run or the weights)')
    .option('--dataset <name>', `dataset: ${DATASET_NAMES.join(', ')} (default: the run's)`)
    .option('--data-root <dir>', 'folder the dataset was downloaded to (not for fashion-mnist, mnist)')
    .option('--profile <name>', `RobRank's protocol, fixing attacks and budgets: ${PROFILE_NAMES.map((n) => `${n} (${PROFILES[n].summary})`).join('; ')}`)
    .option('--attacks <list>', `comma-separated: ${ATTACK_NAMES.join(', ')}; or all`, EVALUATE_DEFAULTS.attacks.join(','))
    .option('--eps <list>', 'budgets: numbers in normalized-input units (0.01) or pixel fractions (4/255)', EVALUATE_DEFAULTS.eps.join(','))
    .option('--iters <n>', 'PGD iterations (fgsm always takes one step)', String(EVALUATE_DEFAULTS.iters))
    .option('--step-size <s>', 'step per iteration, normalized units or a pixel fraction (default 2.5 eps / iters)')
    .option('--random-start <s>', "half-width of the uniform random start: 'eps', 'none' or a number in normalized units", 'eps')
    .option('--norm <name>', 'budget norm: linf or l2', EVALUATE_DEFAULTS.norm)
    .option('--mtax-targets <T>', 'target images of mtax', String(EVALUATE_DEFAULTS.mtaxTargets))
    .option('--rank-partners <n>', 'queries per candidate (CA) and candidates per query (QA)', String(EVALUATE_DEFAULTS.rankPartners))
    .option('--branch <K>', 'batch-norm branch to evaluate (0 = clean; the same epoch as branch 0)', '0')
    .option('--limit <N>', 'a seeded subset of N queries (the gallery stays the whole test set)')
    .option('--limit-test <n|all>', "the test set: at most n images per split (default: the run's --limit-test, as its training evaluated)")
    .option('--k <list>', "K values of Recall@K (default: the dataset's, e.g. 1,2,4,8; sop 1,10,100,1000)")
    .option('--image-size <px>', "side of the test centre crop (default: the run's, else 28 / 224)")
    .option('--test-resize <px>', "shorter side before the crop (default: the run's, else 28 / 256)")
    .option('--batch-size <n>', 'images per attacked batch', String(EVALUATE_DEFAULTS.batchSize))
    .option('--seed <n>', "seed of every random choice (default: the run's, else 0)")
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option('--threads <n>', 'CPU threads of libtorch')
    .option('--precision <p>', `precision of convolutions and matrix products, attacks included: ${PRECISIONS.join(', ')} (default fp32; fp16: CUDA only)`)
    .option('--memory-format <f>', `memory format of the convolutions: ${MEMORY_FORMATS.join(', ')} (default: channels-last for bf16 on a CPU, else contiguous)`)
    .option('--out <file>', `where ${RUN_FILES.eval} goes (default: the run directory, or next to --weights)`)
    .option('--json', 'print the contract JSON instead of a table')
    .action(async (flags: EvalFlags, command: Command) => {
      const options = optionsOf(flags);
      // A profile fixes budgets itself: only what the user typed goes along (the library rejects clashes).
      if (flags.profile !== undefined) {
        for (const key of Object.keys(options) as (keyof EvaluateOptions)[]) if (command.getOptionValueSource(key) === 'default') delete options[key];
      }
      if (flags.run === undefined && flags.weights === undefined) throw new UsageError('--run: give a run directory (or --weights with --dataset)');
      const gallery = progressTo('gallery', 'img');
      const queries = progressTo('eval', 'query');
      // One bar for the gallery, one for all query conditions together (the attack runs advance
      // batch by batch side by side, so the bar sums what each condition has done).
      const doneBy = new Map<number, number>();
      const onProgress = (p: EvalProgress) => {
        if (p.stage === 'gallery') return gallery.update(p.done, p.total);
        gallery.stop();
        doneBy.set(p.conditionIndex, p.done);
        queries.update([...doneBy.values()].reduce((a, b) => a + b, 0), p.conditions * p.total, p.condition);
      };
      try {
        const report = await asUsage(() => evaluate(flags.run ?? null, { ...options, onProgress }), isOptionError);
        io.stdout.write(flags.json ? `${JSON.stringify(contractOutput(report))}\n` : formatReport(report));
        if (flags.run !== undefined && flags.out === undefined) await (await import('../../report/index.js')).writeRunReport(flags.run);
      } finally {
        gallery.stop();
        queries.stop();
      }
    });
}

const isOptionError = (err: unknown): err is OptionError => err instanceof OptionError;

function attacksOf(text: string): AttackName[] {
  if (text.trim().toLowerCase() === 'all') return [...ATTACK_NAMES];
  const names = listFlag('--attacks', text.toLowerCase());
  const unknown = names.find((n) => !(ATTACK_NAMES as readonly string[]).includes(n));
  if (unknown !== undefined) throw new UsageError(`--attacks: unknown attack '${unknown}'; expected some of ${ATTACK_NAMES.join(', ')}`);
  return names as AttackName[];
}

function randomStartOf(text: string): number | 'eps' {
  const t = text.trim().toLowerCase();
  if (t === 'eps') return 'eps';
  if (t === 'none') return 0;
  const n = Number(t);
  if (t === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--random-start: expected 'eps', 'none' or a number >= 0, got '${text}'`);
  return n;
}

/** Flag strings -> evaluate()'s option values; the library checks names and ranges. */
function optionsOf(f: EvalFlags): EvaluateOptions {
  const int = (flag: string, text: string | undefined, min = 1) => (text === undefined ? undefined : integerFlag(flag, text, min));
  const options: EvaluateOptions = {
    profile: f.profile as EvaluateOptions['profile'],
    weights: f.weights,
    arch: f.arch as EvaluateOptions['arch'],
    embedDim: int('--embed-dim', f.embedDim),
    dataset: f.dataset as EvaluateOptions['dataset'],
    dataRoot: f.dataRoot,
    attacks: attacksOf(f.attacks),
    eps: listFlag('--eps', f.eps),
    iters: int('--iters', f.iters),
    stepSize: f.stepSize,
    randomStart: randomStartOf(f.randomStart),
    norm: f.norm as EvaluateOptions['norm'],
    mtaxTargets: int('--mtax-targets', f.mtaxTargets),
    rankPartners: int('--rank-partners', f.rankPartners),
    branch: int('--branch', f.branch, 0),
    limit: int('--limit', f.limit),
    limitTest: f.limitTest === undefined ? undefined : f.limitTest.trim().toLowerCase() === 'all' ? null : integerFlag('--limit-test', f.limitTest),
    ks: f.k === undefined ? undefined : integerListFlag('--k', f.k),
    imageSize: int('--image-size', f.imageSize),
    testResize: int('--test-resize', f.testResize),
    batchSize: int('--batch-size', f.batchSize),
    seed: int('--seed', f.seed, 0),
    device: f.device,
    threads: int('--threads', f.threads),
    ...computeModeFlags(f, f.device),
    out: f.out,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as EvaluateOptions;
}
