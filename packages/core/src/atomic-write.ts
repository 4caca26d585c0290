import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
}

// Temp files of writes in progress, removed if SIGINT / SIGTERM ends the process first. The
// handlers are installed only while a write is open; when no other listener handles the
// signal, it is raised again after the clean-up, so the process ends as it would have.
const openTemps = new Set<string>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
function onSignal(signal: NodeJS.Signals): void {
  for (const temp of openTemps) rmSync(temp, { force: true });
  openTemps.clear();
  for (const s of SIGNALS) process.off(s, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
function trackTemp(temp: string): void {
  if (openTemps.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  openTemps.add(temp);
}
function untrackTemp(temp: string): void {
  if (!openTemps.delete(temp) || openTemps.size > 0) return;
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Writes a file so readers see the old content or the new, never a partial one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  trackTemp(temp);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    untrackTemp(temp);
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
    trackTemp(this.temp);
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
    untrackTemp(this.temp);
  }

  async abort(): Promise<void> {
    await this.close();
    await rm(this.temp, { force: true });
    untrackTemp(this.temp);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve, reject) => {
      this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
    });
  }
}
