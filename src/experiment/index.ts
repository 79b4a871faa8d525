// Experiments: methods x seeds trained and evaluated alike, with statistics. The top layer beside
// the CLI: it runs train/ and evaluate/, and leaves reports to report/.
export { differencesToBaseline, summarizeMethods, type MethodResults, type SeedResult } from './aggregate.js';
export { PRESET_NAMES, PRESETS, type ExperimentPreset, type PresetName } from './presets.js';
export { runExperiment, type ExperimentOptions, type ExperimentProgress } from './run.js';
export { formatExperiment } from './table.js';
