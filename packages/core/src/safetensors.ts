import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write';

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
 * JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {..}}`, then the raw
 * little-endian tensor bytes, offsets relative to the end of the header.
 */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES_PER_ELEMENT: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export type SafetensorsData =
  | Float64Array
  | Float32Array
  | Uint16Array // F16 and BF16 bit patterns
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

function typedView(dtype: SafetensorsDType, bytes: Uint8Array): SafetensorsData {
  // Copy into a fresh, aligned buffer: offsets in the file need not be aligned for the view type.
  const buffer = bytes.slice().buffer;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer);
    case 'F32':
      return new Float32Array(buffer);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buffer);
    case 'I64':
      return new BigInt64Array(buffer);
    case 'I32':
      return new Int32Array(buffer);
    case 'I16':
      return new Int16Array(buffer);
    case 'I8':
      return new Int8Array(buffer);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer);
  }
}

/** Parses a safetensors buffer; `source` names the file in errors. */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  if (bytes.byteLength < 8) throw new Error(`${source}: too short for a safetensors header (${bytes.byteLength} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) {
    throw new Error(`${source}: header length ${headerLength} exceeds the file (${bytes.byteLength} bytes)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${source}: header is not valid JSON: ${(error as Error).message}`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, SafetensorsTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: SafetensorsDType; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES_PER_ELEMENT)) throw new Error(`${source}: tensor "${name}" has unsupported dtype ${dtype}`);
    const elements = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== elements * BYTES_PER_ELEMENT[dtype] || dataStart + end > bytes.byteLength || begin > end) {
      throw new Error(`${source}: tensor "${name}" (${dtype} [${shape.join(', ')}]) has data_offsets [${begin}, ${end}] that do not fit its shape or the file`);
    }
    tensors.set(name, { dtype, shape: [...shape], data: typedView(dtype, bytes.subarray(dataStart + begin, dataStart + end)) });
  }
  return { tensors, metadata };
}

/** Serializes tensors in the given order, header padded with spaces to 8 bytes as the reference writer does. */
export function serializeSafetensors(tensors: Iterable<[string, SafetensorsTensor]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (tensor.data.length !== elements) {
      throw new RangeError(`serializeSafetensors: tensor "${name}" has ${tensor.data.length} values but shape [${tensor.shape.join(', ')}] needs ${elements}`);
    }
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    if (bytes.byteLength !== elements * BYTES_PER_ELEMENT[tensor.dtype]) {
      throw new RangeError(`serializeSafetensors: tensor "${name}" data does not match dtype ${tensor.dtype}`);
    }
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  const padding = (8 - (encoder.encode(json).byteLength % 8)) % 8;
  json += ' '.repeat(padding);
  const headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.byteLength;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.byteLength;
  }
  return out;
}

export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const bytes = await readFile(path);
  return parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** Writes atomically (temp file + rename). */
export async function writeSafetensors(path: string, tensors: Iterable<[string, SafetensorsTensor]>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Float values of a floating-point tensor as float32 (F16 and BF16 widened, F64 narrowed). */
export function safetensorsToFloat32(tensor: SafetensorsTensor, name = 'tensor'): Float32Array {
  switch (tensor.dtype) {
    case 'F32':
      return tensor.data as Float32Array;
    case 'F64':
      return Float32Array.from(tensor.data as Float64Array);
    case 'F16':
      return Float32Array.from(tensor.data as Uint16Array, halfToFloat);
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array((tensor.data as Uint16Array).length);
      (tensor.data as Uint16Array).forEach((b, i) => (bits[i] = b << 16));
      return new Float32Array(bits.buffer);
    }
    default:
      throw new TypeError(`safetensorsToFloat32: ${name} has integer dtype ${tensor.dtype}`);
  }
}
