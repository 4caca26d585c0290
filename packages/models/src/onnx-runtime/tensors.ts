import * as ort from 'onnxruntime-node';
import { LAYOUT_INPUT_NAMES, type InfillerInputs, type PaddedInputs } from '../gap-relm/inputs';

/** int32 ids → the int64 tensor BERT-style ONNX graphs take. */
export function int64(values: Int32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

/** `input_ids`, `attention_mask`, `token_type_ids` feeds of padded inputs, and `position_ids` / slot hints when they carry them. */
export function idFeeds(x: PaddedInputs & Pick<InfillerInputs, 'hintIds' | 'hintMask'>): Record<string, ort.Tensor> {
  const dims = [x.batch, x.length];
  return {
    input_ids: int64(x.inputIds, dims),
    attention_mask: int64(x.attentionMask, dims),
    token_type_ids: int64(x.tokenTypeIds, dims),
    ...(x.positionIds ? { [LAYOUT_INPUT_NAMES.positionIds]: int64(x.positionIds, dims) } : {}),
    ...(x.hintIds && x.hintMask ? { [LAYOUT_INPUT_NAMES.hintIds]: int64(x.hintIds, dims), [LAYOUT_INPUT_NAMES.hintMask]: new ort.Tensor('float32', x.hintMask, [...dims, 1]) } : {}),
  };
}

/** A float32 output by name, or an error naming the caller. */
export function float32Output(outputs: ort.InferenceSession.OnnxValueMapType, name: string, where: string): { data: Float32Array; dims: readonly number[] } {
  const t = outputs[name] as ort.Tensor | undefined;
  if (t === undefined || t.type !== 'float32') throw new Error(`${where}: the session returned no float32 output '${name}'`);
  return { data: t.data as Float32Array, dims: t.dims };
}
