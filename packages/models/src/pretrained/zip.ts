/**
 * Reads single entries of a zip file (a jar): the end-of-central-directory record, the central
 * directory, then the entry's local header and data, inflated with node:zlib. Hand-written rather
 * than a dependency because the need is this small: stored (0) and deflate (8) entries, no zip64,
 * no encryption — what `jar` and Maven write for files under 4 GiB.
 */
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** The entries of the zip at `path`, from its central directory. */
export async function listZip(path: string): Promise<ZipEntry[]> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    // The EOCD record is 22 bytes plus a comment of at most 65535 bytes at the end of the file.
    const tailLength = Math.min(size, 22 + 65535);
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    let at = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    }
    if (at < 0) throw new Error(`readZipEntry: ${path} is not a zip or jar file (no end-of-central-directory record)`);
    const count = tail.readUInt16LE(at + 10);
    const cdSize = tail.readUInt32LE(at + 12);
    const cdOffset = tail.readUInt32LE(at + 16);
    if (cdOffset === 0xffffffff || count === 0xffff) throw new Error(`readZipEntry: ${path} is a zip64 archive, which is not read`);
    const cd = Buffer.alloc(cdSize);
    await file.read(cd, 0, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    for (let p = 0, i = 0; i < count; i++) {
      if (cd.readUInt32LE(p) !== CENTRAL) throw new Error(`readZipEntry: ${path}: central directory entry ${i} is damaged`);
      const nameLength = cd.readUInt16LE(p + 28);
      entries.push({
        method: cd.readUInt16LE(p + 10),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
        name: cd.toString('utf8', p + 46, p + 46 + nameLength),
      });
      p += 46 + nameLength + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
    }
    return entries;
  } finally {
    await file.close();
  }
}

/** The bytes of entry `name` (a path inside the archive, or a file name in any folder of it), or null when the archive has no such entry. */
export async function readZipEntry(path: string, name: string): Promise<Buffer | null> {
  const entries = await listZip(path);
  const entry = entries.find((e) => e.name === name) ?? entries.find((e) => e.name.endsWith(`/${name}`));
  if (entry === undefined) return null;
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(30);
    await file.read(header, 0, 30, entry.localHeaderOffset);
    if (header.readUInt32LE(0) !== LOCAL) throw new Error(`readZipEntry: ${path}: the local header of ${name} is damaged`);
    const dataOffset = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const data = Buffer.alloc(entry.compressedSize);
    await file.read(data, 0, entry.compressedSize, dataOffset);
    if (entry.method === 0) return data;
    if (entry.method !== 8) throw new Error(`readZipEntry: ${path}: ${name} uses compression method ${entry.method}; only stored (0) and deflate (8) are read`);
    const out = inflateRawSync(data);
    if (out.length !== entry.size) throw new Error(`readZipEntry: ${path}: ${name} inflated to ${out.length} bytes, the directory says ${entry.size}`);
    return out;
  } finally {
    await file.close();
  }
}
