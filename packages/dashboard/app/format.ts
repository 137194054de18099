/** Formatting of counts, sizes, times and payloads for the views. */

/** `1234567` as `1,234,567`. */
export function count(n: number | undefined): string {
  return n === undefined ? '–' : n.toLocaleString('en-US');
}

/** A per-second rate with one decimal below 10. */
export function rate(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
}

/** Bytes in B, KiB, MiB or GiB. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A duration in ms as `3d 4h`, `2h 5m`, `4m 10s` or `12s`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${hours}h`;
  if (hours > 0) return `${hours}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** A time (epoch ms or ISO string) as local date-time, and how long ago. */
export function since(time: number | string | undefined, now = Date.now()): string {
  if (time === undefined) return '–';
  const at = typeof time === 'number' ? time : Date.parse(time);
  if (!Number.isFinite(at)) return String(time);
  return `${new Date(at).toLocaleString()} (${duration(now - at)} ago)`;
}

/** A message's data as the API gives it: text, or `{ base64 }` for binary payloads. */
export function payload(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data !== null && typeof data === 'object' && 'base64' in data) {
    const b64 = String((data as { base64: unknown }).base64);
    return `binary, ${bytes(Math.floor((b64.length * 3) / 4))} (base64): ${b64.slice(0, 120)}${b64.length > 120 ? '…' : ''}`;
  }
  return JSON.stringify(data);
}

/** Text cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
