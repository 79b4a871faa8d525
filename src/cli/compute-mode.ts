// The --precision and --memory-format flags that train, eval, embed and bench share.
import { isMemoryFormatName, isPrecision, MEMORY_FORMATS, precisionProblem, PRECISIONS, type MemoryFormatName, type Precision } from '../nn/index.js';
import { UsageError } from './errors.js';

export interface ComputeModeFlags {
  readonly precision?: string;
  readonly memoryFormat?: string;
}

/** The checked values (undefined where a flag was not given); `device` is checked against fp16. */
export function computeModeFlags(flags: ComputeModeFlags, device?: string): { precision?: Precision; memoryFormat?: MemoryFormatName } {
  const { precision, memoryFormat } = flags;
  if (precision !== undefined && !isPrecision(precision)) throw new UsageError(`--precision: unknown precision '${precision}'; expected one of ${PRECISIONS.join(', ')}`);
  if (memoryFormat !== undefined && !isMemoryFormatName(memoryFormat)) {
    throw new UsageError(`--memory-format: unknown memory format '${memoryFormat}'; expected one of ${MEMORY_FORMATS.join(', ')}`);
  }
  const problem = precision !== undefined && device !== undefined ? precisionProblem(precision, device) : null;
  if (problem) throw new UsageError(`--precision: ${problem}`);
  return { ...(precision === undefined ? {} : { precision }), ...(memoryFormat === undefined ? {} : { memoryFormat }) };
}
