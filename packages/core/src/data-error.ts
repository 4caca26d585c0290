/** A bad input record: names the file, the 1-based line and, when known, the field. */
export class DataError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly field: string | undefined;

  constructor(message: string, where: { file: string; line?: number; field?: string }) {
    const location = where.line === undefined ? where.file : `${where.file}:${where.line}`;
    const field = where.field === undefined ? '' : ` (field "${where.field}")`;
    super(`${location}${field}: ${message}`);
    this.name = 'DataError';
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
  }
}

/** Counts records a long job skipped, with the first few reasons, for its final report. */
export class SkipCounter {
  count = 0;
  readonly examples: string[] = [];
  readonly byReason = new Map<string, number>();

  constructor(private readonly keepExamples = 10) {}

  add(reason: string, detail?: string): void {
    this.count++;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    if (this.examples.length < this.keepExamples) this.examples.push(detail ?? reason);
  }

  summary(): string {
    if (this.count === 0) return 'skipped 0';
    const reasons = [...this.byReason].map(([reason, n]) => `${reason}: ${n}`).join(', ');
    return `skipped ${this.count} (${reasons})`;
  }
}
