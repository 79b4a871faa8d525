// Timing: training steps and evaluation tasks of a method on random data (what `mdprop bench`
// prints), built through training's own setup. A top layer beside the CLI and experiments.
export { BENCH_TASKS, benchTrainingSteps, type BenchOpTime, type BenchReport, type BenchSettings, type BenchTask } from './steps.js';
