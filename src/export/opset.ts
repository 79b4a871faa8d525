// The ONNX operator sets mdprop writes. Every operator the graphs use (Conv, BatchNormalization,
// Relu, MaxPool, Add, GlobalAveragePool, Flatten, Reshape, Gemm, Sub, Div, Max, ReduceL2) has the
// same meaning for float32 from opset 13 to 23; the one change in that range is ReduceL2, whose
// axes moved from an attribute to an input at opset 18 (handled where it is emitted).
export const OPSETS = { min: 13, max: 23, default: 17 } as const;

/** The IR version ONNX released with each operator set (readers check that the two agree). */
const IR_VERSION: Record<number, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11 };

export function isSupportedOpset(opset: number): boolean {
  return Number.isInteger(opset) && opset >= OPSETS.min && opset <= OPSETS.max;
}

/** Why mdprop cannot write `opset`, or null when it can. */
export function opsetProblem(opset: number): string | null {
  return isSupportedOpset(opset) ? null : `${opset} is not an opset mdprop writes; expected an integer in ${OPSETS.min}..${OPSETS.max}`;
}

export function irVersionFor(opset: number): number {
  const ir = IR_VERSION[opset];
  if (ir === undefined) throw new RangeError(`opset ${opset} is outside ${OPSETS.min}..${OPSETS.max}`);
  return ir;
}

/** Whether reductions take their axes as an input (opset 18 on) rather than an attribute. */
export function axesAsInput(opset: number): boolean {
  return opset >= 18;
}
