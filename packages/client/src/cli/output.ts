/** Where the CLI writes: process.stdout/stderr, or buffers in a test. */
export interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Output {
  stdout: Stream;
  stderr: Stream;
  json: boolean;
}

type Row = Record<string, unknown>;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length ? value.map(cell).join(',') : '-';
  if (typeof value === 'string') return value.replace(/\s+/g, ' ');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Rows as aligned columns under an upper-case header (`columns` picks and orders the fields). */
export function table(rows: Row[], columns: string[]): string {
  const cells = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  return (
    cells
      .map((line) => line.map((c, i) => (i === line.length - 1 ? c : c.padEnd(widths[i]))).join('  '))
      .join('\n') + '\n'
  );
}

/** A record as `field  value` lines. */
export function fields(record: Row, names: string[]): string {
  const width = Math.max(...names.map((n) => n.length));
  return names.map((n) => `${n.padEnd(width)}  ${cell(record[n])}`).join('\n') + '\n';
}

/** `--json`: the value as JSON; else what `human` renders. */
export function print(out: Output, value: unknown, human: () => string): void {
  out.stdout.write(out.json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

/** A one-line progress bar on a terminal (redrawn in place), nothing elsewhere. */
export class ProgressBar {
  private done = 0;

  constructor(
    private readonly stream: Stream,
    private readonly total: number,
    private readonly label: string,
  ) {}

  tick(): void {
    this.done += 1;
    if (!this.stream.isTTY) return;
    const width = 30;
    const filled = this.total ? Math.round((this.done / this.total) * width) : width;
    this.stream.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}`,
    );
    if (this.done === this.total) this.stream.write('\n');
  }
}
