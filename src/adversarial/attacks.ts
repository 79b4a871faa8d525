// The test-time attack suite, one table entry per attack: what it does, how it runs, what it
// reports, and the function that builds its goal for a batch of queries (in its own file). A new
// attack is one file with its prepare function plus one line here; nothing elsewhere decides
// anything by an attack's name.
//   stax        towards the clean embedding of a random test image of another class (T = 1)
//   mtax        towards T such images at once (the targeted objective of pgd.ts with T sets)
//   untargeted  away from the query's own clean embedding
//   fgsm        the untargeted objective, one signed step of size eps, no random start
//   ca+ / ca- / qa+ / qa-   the ranking attacks (ranking.ts)
//   es          embedding shift: the untargeted objective, reported as ES:D (shift) and ES:R (Recall@1)
//   tma / ltm / gtm / gtt   RobRank's misranking attacks (misranking.ts)
import type { AttackDescriptor, PreparedAttack, PrepareAttack, QueryBatch, SuiteOptions } from './attack.js';
import type { CleanGallery } from './gallery.js';
import { prepareGtm, prepareGtt, prepareLtm, prepareTma } from './misranking.js';
import { prepareRanking, type RankingAttack } from './ranking.js';
import { prepareTargeted } from './targeted.js';
import { prepareUntargeted } from './untargeted.js';

export type { AttackDescriptor, BatchOutcome, PreparedAttack, QueryBatch, SuiteOptions } from './attack.js';

const attack = (summary: string, prepare: PrepareAttack, extra: Partial<AttackDescriptor> = {}): AttackDescriptor => ({ summary, singleStep: false, measures: null, ers: [], prepare, ...extra });

const TABLE = {
  stax: attack('towards one random other-class gallery image (Recall@1, success rate)', (b, g, o) => prepareTargeted(1, b, g, o.seed), { measures: 'success_rate' }),
  mtax: attack('towards T random other-class gallery images at once', (b, g, o) => prepareTargeted(o.mtaxTargets, b, g, o.seed), { measures: 'success_rate' }),
  untargeted: attack("away from the query's own clean embedding", prepareUntargeted),
  fgsm: attack('the untargeted objective, one signed step of size eps', prepareUntargeted, { singleStep: true }),
  'ca+': attack('candidate attack: raise random candidates in the queries’ rankings', (b, g, o) => prepareRanking('ca+', b, g, o), { measures: 'rank', ers: ['CA+'] }),
  'ca-': attack('candidate attack: sink top candidates out of the rankings', (b, g, o) => prepareRanking('ca-', b, g, o), { measures: 'rank', ers: ['CA-'] }),
  'qa+': attack('query attack: raise random candidates in the query’s ranking', (b, g, o) => prepareRanking('qa+', b, g, o), { measures: 'rank', ers: ['QA+'] }),
  'qa-': attack('query attack: sink the top candidates of the query’s ranking', (b, g, o) => prepareRanking('qa-', b, g, o), { measures: 'rank', ers: ['QA-'] }),
  es: attack('embedding shift: the untargeted objective, reported as ES:D and ES:R', prepareUntargeted, { ers: ['ES:D', 'ES:R'] }),
  tma: attack('targeted mismatch: towards one random gallery embedding (cosine to it)', prepareTma, { measures: 'cosine', ers: ['TMA'] }),
  ltm: attack('learning-to-misrank: other classes nearer than the nearest same-class image (Recall@1)', prepareLtm, { ers: ['LTM'] }),
  gtm: attack("greedy top-1 misranking: towards the nearest image outside the top-1's class (Recall@1)", prepareGtm, { ers: ['GTM'] }),
  gtt: attack('greedy top-1 translocation: the clean top-1 out of the ranking (kept in top 4)', prepareGtt, { measures: 'retain', ers: ['GTT'] }),
} satisfies Record<string, AttackDescriptor>;

export type AttackName = keyof typeof TABLE;
export const ATTACKS: Readonly<Record<AttackName, AttackDescriptor>> = TABLE;
export const ATTACK_NAMES = Object.keys(TABLE) as [AttackName, ...AttackName[]];

export function isAttackName(name: string): name is AttackName {
  return (ATTACK_NAMES as readonly string[]).includes(name);
}

/** The iterations an attack runs when `iters` were asked for. */
export function attackIters(name: AttackName, iters: number): number {
  return ATTACKS[name].singleStep ? 1 : iters;
}

/** Attacks steered towards other classes: they report a success rate. */
export function isTargetedAttack(name: AttackName): boolean {
  return ATTACKS[name].measures === 'success_rate';
}

export function isRankingAttack(name: AttackName): name is RankingAttack {
  return ATTACKS[name].measures === 'rank';
}

/** Builds the goal of `name` for one batch; tensors it makes belong to the caller's scope. */
export function prepareAttack(name: AttackName, batch: QueryBatch, gallery: CleanGallery, options: SuiteOptions): PreparedAttack {
  return ATTACKS[name].prepare(batch, gallery, options);
}
