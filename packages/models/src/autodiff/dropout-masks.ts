import type { Rng } from '@proj/core';
import { parseDim } from '../onnx/serialize';
import type { Graph } from '../ops/graph-ops';
import type { Dim } from '../ops/ops';
import { dropoutMask } from '../ops/dropout-mask';

/**
 * The dropout masks of a training graph recorded with `GraphOps({ dropout: 'inputs' })`, drawn from
 * `rng` in recording order with the draw TfOps makes (`dropoutMask`), so the graph on onnxruntime
 * and the same model code on TfOps with an equal rng drop the same units. `inputDims` gives the
 * concrete dims of the other inputs, from which the symbols of the mask shapes are read.
 */
export function dropoutMaskFeeds(graph: Graph, inputDims: Readonly<Record<string, readonly number[]>>, rng: Rng): Map<string, { data: Float32Array; dims: number[] }> {
  const masks = graph.dropoutMasks ?? [];
  const maskNames = new Set(masks.map((m) => m.name));
  const symbols = new Map<string, number>();
  for (const input of graph.inputs) {
    if (maskNames.has(input.name)) continue;
    const dims = inputDims[input.name];
    if (dims === undefined) continue;
    if (dims.length !== input.shape.length) throw new RangeError(`dropoutMaskFeeds: inputDims['${input.name}'] has rank ${dims.length}, the graph input [${input.shape}] has ${input.shape.length}`);
    input.shape.forEach((d, axis) => {
      if (typeof d !== 'string' || !/^[A-Za-z_][\w.]*$/.test(d)) return;
      const seen = symbols.get(d);
      if (seen !== undefined && seen !== dims[axis]) throw new RangeError(`dropoutMaskFeeds: dim '${d}' is ${seen} in one input and ${dims[axis]} in '${input.name}'`);
      symbols.set(d, dims[axis]);
    });
  }
  const resolve = (d: Dim, mask: string): number => {
    if (typeof d === 'number') return d;
    let total = 0;
    for (const t of parseDim(d)) {
      let term = t.sign * t.n;
      for (const s of t.symbols) {
        const v = symbols.get(s);
        if (v === undefined) throw new RangeError(`dropoutMaskFeeds: mask '${mask}' has dim '${d}', and no input in inputDims gives '${s}'`);
        term *= v;
      }
      total += term;
    }
    return total;
  };
  const feeds = new Map<string, { data: Float32Array; dims: number[] }>();
  for (const m of masks) {
    const input = graph.inputs.find((i) => i.name === m.name);
    if (input === undefined) throw new Error(`dropoutMaskFeeds: mask '${m.name}' is not a graph input`);
    const dims = input.shape.map((d) => resolve(d, m.name));
    feeds.set(m.name, { data: dropoutMask(dims.reduce((a, b) => a * b, 1), m.rate, rng), dims });
  }
  return feeds;
}
