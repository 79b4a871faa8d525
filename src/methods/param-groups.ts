// Optimizer parameter groups for a method: backbone, main BN, auxiliary BN, embedding head, and
// the loss's own parameters, each with its own learning rate (the authors allow separate rates).
import { BatchNorm2d, MultiBatchNorm2d, type EmbeddingModel } from '../nn/index.js';
import type { Tensor } from '../torch/index.js';

export interface GroupRates {
  backbone: number;
  /** Branch-0 BN scale and shift; default: the backbone rate. */
  mainBn?: number;
  /** Auxiliary branches; default: the main BN rate. */
  auxBn?: number;
  /** The `fc` head; default: the backbone rate. */
  head?: number;
}

export interface NamedGroup {
  name: string;
  params: Tensor[];
  lr: number;
}

export function modelParameterGroups(model: EmbeddingModel, rates: GroupRates): NamedGroup[] {
  const mainBn = new Set<Tensor>();
  const auxBn = new Set<Tensor>();
  for (const [, m] of model.namedModules()) {
    if (m instanceof MultiBatchNorm2d) {
      for (let k = 1; k < m.branches; k++) for (const p of m.branch(k).parameters()) auxBn.add(p);
    }
  }
  for (const [, m] of model.namedModules()) {
    if (m instanceof BatchNorm2d) for (const p of m.parameters()) if (!auxBn.has(p)) mainBn.add(p);
  }
  const head = new Set(model.head.parameters());
  const groups: NamedGroup[] = [
    { name: 'backbone', params: [], lr: rates.backbone },
    { name: 'main_bn', params: [], lr: rates.mainBn ?? rates.backbone },
    { name: 'aux_bn', params: [], lr: rates.auxBn ?? rates.mainBn ?? rates.backbone },
    { name: 'head', params: [], lr: rates.head ?? rates.backbone },
  ];
  for (const p of model.parameters()) {
    const group = head.has(p) ? groups[3]! : auxBn.has(p) ? groups[2]! : mainBn.has(p) ? groups[1]! : groups[0]!;
    group.params.push(p);
  }
  return groups.filter((g) => g.params.length > 0);
}
