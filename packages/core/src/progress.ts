/**
 * A progress line on stderr: count, percent, items/s and ETA. On a TTY it redraws in place;
 * elsewhere (CI, files) it prints a line every few seconds so logs stay short.
 */
export interface ProgressOptions {
  label: string;
  /** Total items, when known: enables percent and ETA. */
  total?: number;
  /** Unit shown in the rate, e.g. "sent" gives "sent/s". */
  unit?: string;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Set false to silence (tests, library use). */
  enabled?: boolean;
  /** Minimum time between redraws; defaults to 100 ms on a TTY and 5 s elsewhere. */
  intervalMs?: number;
  /** More fields after the rate (e.g. a second rate, or an ETA from bytes read), given the elapsed seconds. */
  extra?: (elapsedSeconds: number) => string;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

export class Progress {
  private done = 0;
  private readonly startedAt = performance.now();
  private lastDrawAt = -Infinity;
  /** The count of the last line printed (a finished run is not printed twice at the same count). */
  private drawnCount = -1;
  /**
   * Count and time of the first tick. The rate for the ETA is measured from there: the first item
   * carries the start-up (a first training step compiles kernels, a resumed run ticks all its
   * earlier steps at once), which would make the first ETAs far too long.
   */
  private baseline: { count: number; at: number } | null = null;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly enabled: boolean;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.intervalMs = options.intervalMs ?? (this.tty ? 100 : 5000);
    this.enabled = options.enabled ?? true;
  }

  get count(): number {
    return this.done;
  }

  tick(n = 1): void {
    this.done += n;
    const now = performance.now();
    this.baseline ??= { count: this.done, at: now };
    if (this.enabled && now - this.lastDrawAt >= this.intervalMs) {
      this.lastDrawAt = now;
      this.draw(false);
    }
  }

  /** Prints the final line (unless, off a TTY, a line at this count was the last printed) and returns it. */
  finish(): string {
    const line = this.render();
    if (this.enabled && (this.tty || this.drawnCount !== this.done)) this.draw(true);
    return line;
  }

  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  render(): string {
    const { label, total, unit = 'items' } = this.options;
    const elapsed = this.elapsedSeconds();
    // Items per second since the first tick once there is a second one; until then, overall.
    const base = this.baseline;
    const sinceBase = base === null ? 0 : (performance.now() - base.at) / 1000;
    const measured = base !== null && this.done > base.count && sinceBase > 0;
    const rate = measured ? (this.done - base.count) / sinceBase : elapsed > 0 ? this.done / elapsed : 0;
    const parts = [label, total === undefined ? `${this.done.toLocaleString('en')}` : `${this.done.toLocaleString('en')}/${total.toLocaleString('en')}`];
    if (total !== undefined && total > 0) parts.push(`${((100 * this.done) / total).toFixed(1)}%`);
    parts.push(`${rate >= 100 ? Math.round(rate).toLocaleString('en') : rate.toFixed(1)} ${unit}/s`);
    const extra = this.options.extra?.(elapsed);
    if (extra) parts.push(extra);
    if (total !== undefined && this.done < total && measured && rate > 0) parts.push(`ETA ${formatDuration((total - this.done) / rate)}`);
    else parts.push(`elapsed ${formatDuration(elapsed)}`);
    return parts.join('  ');
  }

  private draw(final: boolean): void {
    const line = this.render();
    this.drawnCount = this.done;
    if (this.tty) this.stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else this.stream.write(`${line}\n`);
  }
}
