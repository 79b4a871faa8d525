// Swapping layers inside a built model, in place and under the same names. This is how every
// BatchNorm2d of a backbone becomes a multi-branch batch norm without touching the backbone's code.
import { BatchNorm2d } from './batchnorm.js';
import type { Module } from './module.js';

type AnyModule = Module<unknown, unknown>;

/**
 * Walk the tree below `root`; wherever `replacer(module, path)` returns a module, put it in that
 * module's place (the walk does not descend into replacements). Returns the paths replaced.
 */
export function replaceModules(root: AnyModule, replacer: (module: AnyModule, path: string) => AnyModule | null | undefined): string[] {
  const replaced: string[] = [];
  const visit = (parent: AnyModule, prefix: string): void => {
    for (const [name, child] of parent.namedChildren()) {
      const path = prefix && name ? `${prefix}.${name}` : prefix || name;
      const substitute = replacer(child, path);
      if (substitute && substitute !== child) {
        parent.setChild(name, substitute);
        replaced.push(path);
      } else {
        visit(child, path);
      }
    }
  };
  visit(root, '');
  return replaced;
}

/**
 * Replace every BatchNorm2d by `factory(bn, path)`. The factory may reuse the old layer (e.g. as
 * its branch 0) or dispose it. Returns the paths replaced.
 */
export function replaceBatchNorms(root: AnyModule, factory: (bn: BatchNorm2d, path: string) => AnyModule): string[] {
  return replaceModules(root, (m, path) => (m instanceof BatchNorm2d ? factory(m, path) : null));
}
