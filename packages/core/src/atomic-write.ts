import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
}

/** Writes a file so readers see the old content or the new, never a partial one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * A write stream into a temp file that becomes `path` on `commit()`; `abort()` removes it.
 * For outputs too large to hold in memory.
 */
export class AtomicFileWriter {
  private readonly temp: string;
  private readonly stream: WriteStream;
  private closed = false;

  private constructor(readonly path: string) {
    this.temp = tempPathFor(path);
    this.stream = createWriteStream(this.temp, { encoding: 'utf8' });
  }

  static async open(path: string): Promise<AtomicFileWriter> {
    await mkdir(dirname(path), { recursive: true });
    return new AtomicFileWriter(path);
  }

  /** Writes a chunk, waiting when the stream's buffer is full. */
  async write(chunk: string): Promise<void> {
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        this.stream.once('error', onError);
        this.stream.once('drain', () => {
          this.stream.off('error', onError);
          resolve();
        });
      });
    }
  }

  async commit(): Promise<void> {
    await this.close();
    await rename(this.temp, this.path);
  }

  async abort(): Promise<void> {
    await this.close();
    await rm(this.temp, { force: true });
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve, reject) => {
      this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
    });
  }
}
