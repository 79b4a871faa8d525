// The peak memory of a forward pass, estimated from the architecture, the image size and the batch
// before anything is allocated, so a command can refuse work the machine cannot hold (a file's
// metadata or a flag asking for 8192x8192 crops) with an error naming what to lower, instead of
// being killed midway. The walk mirrors the layers (resnet.ts, resnet-blocks.ts, c2f2.ts) and their
// memory scopes (each module's forward frees its intermediate tensors when it returns): the output
// elements per image of each convolution and batch norm. Inference holds what the scopes keep open
// at the widest point; a pass that
// needs gradients (an attack's input gradient, training) keeps every output for the backward pass
// and the gradients of the largest step. bench/forward-memory.ts compares it with measured peaks.
import { C2F2 } from './c2f2.js';
import { EXPANSION } from './resnet-blocks.js';
import { RESNET_SPECS, type ResNetSpec } from './resnet.js';
import { modelStateShapes } from './state-shapes.js';
import { availableMemory } from '../torch/index.js';
import type { Arch } from './registry.js';

export type PassKind = 'inference' | 'input-gradient' | 'training';

export interface ForwardMemoryRequest {
  arch: Arch;
  embedDim: number;
  inChannels: number;
  /** Side of the square input. */
  imageSize: number;
  /** Images in one forward pass (for training: the joint batch, clean and adversarial together). */
  batch: number;
  kind: PassKind;
  /** BN branches of the model (default 1). */
  branches?: number;
}

interface Step {
  /** Output elements per image. */
  out: number;
}

/** A residual block: its steps (convolutions, batch norms, the projection), in one memory scope. */
type Block = Step[];

/** The layers as their memory scopes: the stem's steps live until the backbone returns, a stage's block outputs until the stage does, a block's steps until the block does. */
interface Walk {
  stem: Step[];
  stages: Block[][];
  /** Elements per image after global pooling and the head. */
  tail: number;
}

const plain = (elements: number): Step => ({ out: elements });
const conv = (outChannels: number, side: number): Step => plain(outChannels * side * side);
const strided = (side: number, stride: number) => Math.ceil(side / stride);

function resnetWalk(spec: ResNetSpec, imageSize: number, embedDim: number): Walk {
  const stem: Step[] = [];
  let side = imageSize;
  let channels: number;
  if (spec.stem === 'imagenet') {
    side = strided(side, 2);
    stem.push(conv(64, side), plain(64 * side * side)); // the ReLU works in place
    side = strided(side, 2);
    stem.push(plain(64 * side * side));
    channels = 64;
  } else {
    channels = spec.widths[0]!;
    stem.push(conv(channels, side), plain(channels * side * side));
  }
  const stages = spec.blocks.map((count, stage) => {
    const width = spec.widths[stage]!;
    const out = width * EXPANSION[spec.block];
    const blocks: Block[] = [];
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const next = strided(side, stride);
      const block: Block = [];
      if (stride !== 1 || channels !== out) block.push(conv(out, next), plain(out * next * next));
      if (spec.block === 'basic') block.push(conv(width, next), plain(width * next * next), conv(width, next), plain(out * next * next));
      else block.push(conv(width, side), plain(width * side * side), conv(width, next), plain(width * next * next), conv(out, next), plain(out * next * next));
      blocks.push(block); // the sum and the last ReLU work in place on the last step's output
      channels = out;
      side = next;
    }
    return blocks;
  });
  return { stem, stages, tail: 2 * channels + 2 * embedDim };
}

function c2f2Walk(imageSize: number, embedDim: number, batchNorm: boolean): Walk {
  const half = Math.ceil(imageSize / 2);
  const quarter = Math.ceil(half / 2);
  const c1 = C2F2.conv1 * imageSize * imageSize;
  const c2 = C2F2.conv2 * half * half;
  // c2f2-bn: a batch norm's output after each of the three layers.
  const norm = (elements: number) => (batchNorm ? [plain(elements)] : []);
  // One scope: convolution, ReLU (a new tensor), pooling, twice; then the hidden layer and its ReLU.
  const stem = [
    conv(C2F2.conv1, imageSize),
    ...norm(c1),
    plain(c1),
    plain(C2F2.conv1 * half * half),
    conv(C2F2.conv2, half),
    ...norm(c2),
    plain(c2),
    plain(C2F2.conv2 * quarter * quarter),
    plain(C2F2.hidden),
    ...norm(C2F2.hidden),
    plain(C2F2.hidden),
  ];
  return { stem, stages: [], tail: 2 * embedDim };
}

/** Peak elements per image of a pass without gradients, following the scopes. */
function inferencePeak(walk: Walk, input: number): number {
  let alive = input;
  let peak = alive;
  for (const s of walk.stem) {
    alive += s.out;
    peak = Math.max(peak, alive);
  }
  for (const blocks of walk.stages) {
    let stage = 0;
    for (const block of blocks) {
      let inner = 0;
      for (const s of block) {
        inner += s.out;
        peak = Math.max(peak, alive + stage + inner);
      }
      stage += block[block.length - 1]!.out;
    }
    const last = blocks[blocks.length - 1]!;
    alive += last[last.length - 1]!.out; // only the stage's output outlives its scope
  }
  return Math.max(peak, alive + walk.tail);
}

/** Peak elements per image of a pass with a backward: every output is kept, and the backward holds gradients of the largest step. */
function gradientPeak(walk: Walk, input: number): number {
  const steps = [...walk.stem, ...walk.stages.flat(2)];
  let kept = input + walk.tail;
  let widest = 0;
  for (const s of steps) {
    kept += s.out;
    widest = Math.max(widest, 2 * s.out);
  }
  return kept + widest;
}

/** Elements of the model's parameters and buffers. */
export function modelElements(arch: Arch, embedDim: number, inChannels: number, branches = 1): number {
  let n = 0;
  for (const entry of modelStateShapes({ arch, embedDim, inChannels }, branches).values()) n += entry.shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * The resident set grows by more than the tensors in use: freed buffers of other sizes stay mapped
 * in the CPU buffer cache and the allocator (measured: 1.3 to 1.6 times the peak in use).
 */
const ALLOCATOR_OVERHEAD = 1.5;

/** Estimated peak bytes of one forward pass (with its backward, for the kinds that need gradients). */
export function forwardPeakBytes(r: ForwardMemoryRequest): number {
  const walk = r.arch === 'c2f2' || r.arch === 'c2f2-bn' ? c2f2Walk(r.imageSize, r.embedDim, r.arch === 'c2f2-bn') : resnetWalk(RESNET_SPECS[r.arch], r.imageSize, r.embedDim);
  const input = r.inChannels * r.imageSize * r.imageSize;
  const perImage = r.kind === 'inference' ? inferencePeak(walk, input) : gradientPeak(walk, input);
  const params = modelElements(r.arch, r.embedDim, r.inChannels, r.branches ?? 1);
  // Weights; with gradients also their gradients; training also two optimizer moments.
  const paramCopies = r.kind === 'inference' ? 1 : r.kind === 'input-gradient' ? 2 : 4;
  return ALLOCATOR_OVERHEAD * 4 * (r.batch * perImage + paramCopies * params);
}

/** "1.2 GiB" */
export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(bytes / 2 ** 20)} MiB`;
}

export interface MemoryShortfall {
  estimate: number;
  available: number;
  /** Where the available figure came from (src/torch/machine-memory.ts). */
  source: string;
}

/** The estimate and what the machine has, when the estimate does not fit; null when it does. */
export function memoryShortfall(r: ForwardMemoryRequest): MemoryShortfall | null {
  const estimate = forwardPeakBytes(r);
  const { bytes, source } = availableMemory();
  return estimate > bytes ? { estimate, available: bytes, source } : null;
}

/** "a forward pass ... needs about X; this machine has Y available (MemAvailable)" */
export function describeShortfall(r: ForwardMemoryRequest, s: MemoryShortfall, images = `${r.batch} images`): string {
  const pass = r.kind === 'inference' ? 'a forward pass' : r.kind === 'training' ? 'a training step' : 'an attacked forward and backward pass';
  return `${pass} of ${r.arch} on ${images} of ${r.imageSize}x${r.imageSize} needs about ${formatBytes(s.estimate)}; this machine has ${formatBytes(s.available)} available (${s.source})`;
}
