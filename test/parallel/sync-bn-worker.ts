// One rank of the synchronised batch-norm gradient check: builds the shared case, runs its rows of
// each segment through the two-branch BN with statistics over all ranks, back-propagates its rows
// of the fixed upstream gradient, and writes outputs, input gradients, its share of the scale and
// shift gradients and the running statistics to $RESULT_DIR/rank-<r>.json; then the same with
// bfloat16 activations and a float32 batch norm (mixed precision).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setBatchStatsSync } from '../../src/nn/index.js';
import { joinRun, workerPlace } from '../../src/parallel/index.js';
import { setNumThreads, tensor } from '../../src/torch/index.js';
import { buildCase, rowsOf } from './sync-bn-case.js';

setNumThreads(1);
const place = workerPlace();
if (place === null) throw new Error('sync-bn-worker runs under the launcher');
const parallel = joinRun(place, { device: 'cpu', timeoutMs: 60_000 });
const { bn, x, dy } = buildCase();
const { rows, segments } = rowsOf(parallel.rank, parallel.worldSize);
const index = tensor(rows, [rows.length]).to('int64');
setBatchStatsSync(bn, parallel.batchStatsSync() ?? null);
bn.train();
bn.routing = { kind: 'segments', segments };
const input = x.indexSelect(0, index).detach().setRequiresGrad(true);
const output = bn.forward(input);
output.mul(dy.indexSelect(0, index)).sum().backward();
const named = Object.fromEntries([...bn.namedParameters().map(([n, p]) => [`${n}.grad`, p.grad!.toNumbers()] as const), ...bn.namedBuffers().map(([n, b]) => [n, b.toNumbers()] as const)]);
// The same rows with each rank's own statistics, to show the comparison can fail.
const plain = buildCase();
plain.bn.train();
plain.bn.routing = { kind: 'segments', segments };
const plainOutput = plain.bn.forward(plain.x.indexSelect(0, index));
// bfloat16 activations (mixed precision): float32 statistics over all ranks, bfloat16 out and back.
const half = buildCase();
half.bn.to('float32');
setBatchStatsSync(half.bn, parallel.batchStatsSync() ?? null);
half.bn.train();
half.bn.routing = { kind: 'segments', segments };
const halfInput = half.x.indexSelect(0, index).to('bfloat16').detach().setRequiresGrad(true);
const halfOutput = half.bn.forward(halfInput);
halfOutput.to('float32').mul(half.dy.indexSelect(0, index).to('float32')).sum().backward();
const bf16 = { dtypes: [halfOutput.dtype, halfInput.grad!.dtype, half.bn.branch(1).runningMean!.dtype], output: Array.from(halfOutput.toFloat32Array()), inputGrad: Array.from(halfInput.grad!.toFloat32Array()) };
// An input changed in place between the passes makes the backward pass fail with autograd's error, on every rank alike.
let inPlaceError = '';
bn.routing = { kind: 'branch', branch: 0 };
const changed = x.indexSelect(0, index).detach().setRequiresGrad(true).mul(2);
const changedOutput = bn.forward(changed);
changed.add_(1);
try {
  changedOutput.sum().backward();
} catch (err) {
  inPlaceError = (err as Error).message;
}
writeFileSync(join(process.env.RESULT_DIR!, `rank-${parallel.rank}.json`), JSON.stringify({ rows, inPlaceError, bf16, output: output.toNumbers(), plainOutput: plainOutput.toNumbers(), inputGrad: input.grad!.toNumbers(), ...named }));
parallel.close();
