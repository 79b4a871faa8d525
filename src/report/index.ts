// Reports: comparisons of runs (and, built on the same formats, experiments' statistics and pages).
export { compareRuns, formatComparison, loadRun, type RunResults } from './compare.js';
