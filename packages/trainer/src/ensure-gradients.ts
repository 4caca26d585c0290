import * as tf from '@tensorflow/tfjs-core';

let loaded: Promise<void> | null = null;

/**
 * Registers tfjs-core's gradient functions for kernels that have none yet. tfjs-core's Node entry
 * registers no gradients (variableGrads would fail), but a model package may already have
 * registered its own (for example a faster BatchMatMul gradient on wasm): those are kept, since
 * importing `register_all_gradients` alone would silently replace them.
 *
 * The import works where a bundler or transformer handles tfjs-core's extensionless ES modules:
 * this package's dist (tsup bundles them) and vitest. Plain Node (tsx) running this package's
 * source cannot load them; there the caller must have registered the gradients it needs.
 */
export function ensureGradients(): Promise<void> {
  loaded ??= (async () => {
    // Every string export of tfjs-core that names a kernel (tf.Abs === 'Abs', ...).
    const kernelNames = [...new Set((Object.values(tf) as unknown[]).filter((v): v is string => typeof v === 'string'))];
    const existing = kernelNames.map((name) => tf.getGradient(name)).filter((g): g is tf.GradConfig => g !== undefined);
    try {
      await import('@tensorflow/tfjs-core/dist/register_all_gradients');
    } catch (error) {
      if (existing.length === 0) {
        throw new Error(
          `ensureGradients: no gradients are registered and tfjs-core's register_all_gradients cannot be loaded here (${(error as Error).message}); ` +
            'use the built @proj/trainer (its dist bundles them) or register gradients before train()',
        );
      }
      return; // the caller registered its own; variableGrads names any kernel still missing
    }
    for (const config of existing) tf.registerGradient(config);
  })();
  return loaded;
}
