import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateOnnxSchema, ONNX_VERSION, OUTPUT_PATH, PROTO_PATH } from '../../scripts/onnx-schema/generate';
import { ONNX_SCHEMA, TensorProto_DataType } from './onnx-schema';

const proto = readFileSync(PROTO_PATH, 'utf8');

describe('onnx-schema.ts (generated from the vendored onnx.proto)', () => {
  it('is up to date: the generator reproduces the committed module byte for byte', () => {
    expect(generateOnnxSchema(proto) === readFileSync(OUTPUT_PATH, 'utf8'), 'regenerate: npx tsx packages/models/scripts/onnx-schema/generate.ts').toBe(true);
  });

  it('the vendored onnx.proto is the one named in its provenance note (onnx wheel, sha256)', () => {
    const sha = createHash('sha256').update(proto).digest('hex');
    const note = readFileSync(PROTO_PATH.replace(/onnx\.proto$/, 'README.md'), 'utf8');
    expect(note).toContain(sha);
    expect(note).toContain(`onnx ${ONNX_VERSION}`);
    expect(proto).toContain('SPDX-License-Identifier: Apache-2.0');
  });

  it('holds ModelProto and what it references, not the unreferenced Version / OperatorStatus enums', () => {
    const names = Object.keys(ONNX_SCHEMA.nested.onnx.nested);
    for (const n of ['ModelProto', 'GraphProto', 'NodeProto', 'AttributeProto', 'TensorProto', 'ValueInfoProto', 'TypeProto', 'TensorShapeProto', 'OperatorSetIdProto', 'FunctionProto']) expect(names).toContain(n);
    expect(names).not.toContain('Version');
    expect(names).not.toContain('OperatorStatus');
    // Field numbers and enum values as onnx.proto has them.
    expect(ONNX_SCHEMA.nested.onnx.nested.ModelProto.fields.graph.id).toBe(7);
    expect(ONNX_SCHEMA.nested.onnx.nested.TensorProto.fields.raw_data).toEqual({ type: 'bytes', id: 9 });
    expect([TensorProto_DataType.FLOAT, TensorProto_DataType.INT64, TensorProto_DataType.BOOL]).toEqual([1, 7, 9]);
  });
});
