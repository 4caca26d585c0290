import * as tf from '@tensorflow/tfjs-core';

interface TapeNode {
  saved?: tf.Tensor[];
}
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
}

/**
 * `tf.variableGrads` that frees what the tape saved for the backward pass when `f` throws.
 * tfjs keeps those tensors outside every tidy scope and only frees them after a successful
 * backward pass, so an exception in a task's loss would leak them (a tidy around the call does
 * not help). Reaches into engine state, which tfjs-core 4.x keeps stable.
 */
export function safeVariableGrads(f: () => tf.Scalar, varList?: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tf.engine() as unknown as EngineInternals;
  let tape: TapeNode[] | null = null;
  try {
    return tf.variableGrads(() => {
      tape = engine.state.activeTape;
      return f();
    }, varList);
  } catch (error) {
    // Only the outermost gradient owns its tape; nested ones share it.
    if (tape !== null && engine.state.gradientDepth === 0) {
      for (const node of tape as TapeNode[]) for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose();
      if (engine.state.activeTape === tape) engine.state.activeTape = null;
    }
    throw error;
  }
}
