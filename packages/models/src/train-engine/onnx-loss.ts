import { Rng } from '@proj/core';
import { graphWithWeightsToOnnx } from '../onnx/export';
import { createOnnxSession, type OnnxSessionOptions } from '../onnx-runtime/session';
import { float32Output } from '../onnx-runtime/tensors';
import { GraphOps } from '../ops/graph-ops';
import { batchFeeds } from './onnx-engine';
import { checkHostBatch, type HostBatch, type OpsTaskSpec } from './ops-task';

/** The loss of host batches on onnxruntime; `release()` frees the session. */
export interface OnnxLossSession {
  loss(batch: HostBatch): Promise<number>;
  release(): Promise<void>;
}

/**
 * An evaluation session for an Ops-level task: its loss recorded once without dropout, on the
 * store's current weights (initializers), run on onnxruntime batch by batch. Build one per
 * evaluation: the session keeps the weights it was built with.
 */
export async function createOnnxLossSession(spec: Pick<OpsTaskSpec, 'name' | 'store' | 'inputs' | 'loss'>, options: OnnxSessionOptions = {}): Promise<OnnxLossSession> {
  const g = new GraphOps(spec.store);
  const x = Object.fromEntries(spec.inputs.map((input) => [input.name, g.input(input.name, input.dtype, input.shape)]));
  g.output(spec.loss(g, x), 'loss');
  const graph = g.toGraph();
  const { session } = await createOnnxSession(await graphWithWeightsToOnnx(graph, spec.store, `${spec.name}/eval_loss`), options);
  // No training argument: the graph has no dropout masks, so the generator is never drawn from.
  const noMasks = new Rng(0);
  return {
    async loss(batch) {
      checkHostBatch(spec.inputs, batch, `task "${spec.name}" evaluation`);
      const outputs = await session.run(batchFeeds(spec.inputs, batch, graph, noMasks));
      return float32Output(outputs, 'loss', `task "${spec.name}" evaluation`).data[0];
    },
    release: () => session.release(),
  };
}
