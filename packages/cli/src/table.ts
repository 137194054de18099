/**
 * Plain-text tables for people: a header row in capitals, columns padded to
 * their widest cell, long cells cut with an ellipsis so one wide value does
 * not wrap every row.
 */

/** One column: its title and how to show a row's cell. */
export interface Column<T> {
  title: string;
  cell: (row: T) => string;
  /** Right-align (numbers). */
  right?: boolean;
}

const MAX_CELL = 60;

function cut(text: string): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > MAX_CELL ? `${line.slice(0, MAX_CELL - 1)}…` : line;
}

/** Renders rows as a table; `empty` is printed instead when there are none. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], empty: string): string {
  if (rows.length === 0) return empty;
  const cells = rows.map((row) => columns.map((column) => cut(column.cell(row))));
  const widths = columns.map((column, i) =>
    Math.max(column.title.length, ...cells.map((line) => (line[i] ?? '').length)),
  );
  const format = (line: readonly string[]): string =>
    line
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        return columns[i]?.right ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [format(columns.map((column) => column.title.toUpperCase())), ...cells.map(format)].join('\n');
}

/** A cell for a value that may be missing: `-` when it is. */
export function show(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(String).join(', ');
  return String(value);
}

/** How long ago a time (ms since the epoch, or ISO text) was, as `42s`, `5m`, `3h`, `2d`. */
export function age(time: unknown, now = Date.now()): string {
  const ms = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : Number.NaN;
  if (!Number.isFinite(ms)) return '-';
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
