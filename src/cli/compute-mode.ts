// The --precision and --memory-format flags that embed and bench take: their words checked here so
// the message names the flag (whether the device can run them, the library checks).
import { isMemoryFormatName, isPrecision, MEMORY_FORMATS, PRECISIONS, type MemoryFormatName, type Precision } from '../nn/index.js';
import { UsageError } from './errors.js';

export interface ComputeModeFlags {
  readonly precision?: string;
  readonly memoryFormat?: string;
}

/** The checked values (undefined where a flag was not given). */
export function computeModeFlags(flags: ComputeModeFlags): { precision?: Precision; memoryFormat?: MemoryFormatName } {
  const { precision, memoryFormat } = flags;
  if (precision !== undefined && !isPrecision(precision)) throw new UsageError(`--precision: unknown precision '${precision}'; expected one of ${PRECISIONS.join(', ')}`);
  if (memoryFormat !== undefined && !isMemoryFormatName(memoryFormat)) {
    throw new UsageError(`--memory-format: unknown memory format '${memoryFormat}'; expected one of ${MEMORY_FORMATS.join(', ')}`);
  }
  return { ...(precision === undefined ? {} : { precision }), ...(memoryFormat === undefined ? {} : { memoryFormat }) };
}
