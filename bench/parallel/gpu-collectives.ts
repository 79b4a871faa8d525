// Starts one gpu-worker per GPU and prints what rank 0 found (JSON). Usage: node dist/bench/parallel/gpu-collectives.js N OUT.json
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchWorkers } from '../../src/parallel/index.js';

const nproc = Number(process.argv[2] ?? 2);
const out = process.argv[3] ?? '/tmp/gpu-collectives.json';
process.env.RESULT_FILE = out;
const result = await launchWorkers({ nproc, command: [fileURLToPath(new URL('./gpu-worker.js', import.meta.url))], graceMs: 130_000 });
if (result.exitCode !== 0) throw new Error(`gpu workers failed: ${JSON.stringify(result.exits)}`);
console.log(readFileSync(out, 'utf8'));
