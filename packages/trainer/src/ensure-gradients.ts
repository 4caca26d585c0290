import * as tf from '@tensorflow/tfjs-core';

let loaded: Promise<void> | null = null;

/**
 * Registers tfjs-core's gradient functions for kernels that have none yet. tfjs-core's Node entry
 * registers no gradients (variableGrads would fail), but a model package may already have
 * registered its own (for example a faster BatchMatMul gradient on wasm): those are kept, since
 * importing `register_all_gradients` alone would silently replace them.
 */
export function ensureGradients(): Promise<void> {
  loaded ??= (async () => {
    // Every string export of tfjs-core that names a kernel (tf.Abs === 'Abs', ...).
    const kernelNames = [...new Set((Object.values(tf) as unknown[]).filter((v): v is string => typeof v === 'string'))];
    const existing = kernelNames.map((name) => tf.getGradient(name)).filter((g): g is tf.GradConfig => g !== undefined);
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
    for (const config of existing) tf.registerGradient(config);
  })();
  return loaded;
}
