// Experiments: methods x seeds trained and evaluated alike, with statistics.
export { differencesToBaseline, summarizeMethods, type MethodResults, type SeedResult } from './aggregate.js';
export { PRESET_NAMES, PRESETS, type ExperimentPreset, type PresetName } from './presets.js';
export { runExperiment, type ExperimentOptions, type ExperimentProgress } from './run.js';
export { formatExperiment } from './table.js';
