/**
 * onnx.ModelProto encoding and decoding with protobufjs, on the official schema: the descriptor in
 * onnx-schema.ts is generated from the vendored onnx.proto (packages/models/scripts/onnx-schema/).
 */
import protobuf from 'protobufjs/light.js';
import { ONNX_SCHEMA, type Int64, type ModelProto } from './onnx-schema';

let modelProtoType: protobuf.Type | undefined;

/** The ModelProto type, built from the descriptor on first use. */
function modelProto(): protobuf.Type {
  modelProtoType ??= protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace).lookupType('onnx.ModelProto');
  return modelProtoType;
}

/** Serializes a ModelProto (fields in field-number order, as protobuf's own serializers write them). */
export function encodeModelProto(model: ModelProto): Uint8Array {
  return modelProto().encode(model).finish();
}

/** Parses serialized ModelProto bytes; int64 fields come back as Longs (see `int64ToNumber`). */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return modelProto().decode(bytes) as ModelProto;
}

/** An int64 field as a number; throws rather than round a value beyond ±(2^53 − 1). */
export function int64ToNumber(value: Int64, what: string): number {
  if (typeof value === 'number') return value;
  const big = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  const n = Number(value.unsigned ? big : BigInt.asIntN(64, big));
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be a safe integer, got ${value.unsigned ? big : BigInt.asIntN(64, big)}`);
  return n;
}

/** Whether a decoded message carries `field` (proto2 presence: protobufjs sets own properties only for fields on the wire). */
export function hasField<T extends object>(message: T, field: keyof T & string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}
