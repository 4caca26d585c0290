/**
 * Refuses fp16/bf16 flags the backend cannot honour. Every tfjs backend we run (cpu, wasm,
 * webgl, tensorflow) trains in float32; webgl may store float16 textures, but that is storage,
 * not mixed-precision training. Better an error than a run that silently ignores the flag.
 */
const REDUCED_PRECISION_BACKENDS: Record<'fp16' | 'bf16', readonly string[]> = { fp16: [], bf16: [] };

export function checkPrecision(flags: { fp16: boolean; bf16: boolean }, backend: string): void {
  if (flags.fp16 && flags.bf16) {
    throw new RangeError('checkPrecision: fp16 and bf16 are both set; they are mutually exclusive, set at most one');
  }
  for (const flag of ['fp16', 'bf16'] as const) {
    if (flags[flag] && !REDUCED_PRECISION_BACKENDS[flag].includes(backend)) {
      throw new RangeError(
        `checkPrecision: config.${flag} is set but the tfjs backend "${backend}" trains in float32 only; unset ${flag} (the run would be float32 anyway)`,
      );
    }
  }
}
