// Number and time formatting for display. The raw API numbers go into data-* attributes; these
// helpers only make the visible text.

export function rps(value) {
  if (value === null || value === undefined) return '–';
  if (value === 0) return '0';
  if (value < 0.1) return value.toFixed(3);
  if (value < 10) return value.toFixed(2);
  if (value < 1000) return value.toFixed(1);
  return Math.round(value).toLocaleString('en-US');
}

// How a failure share reads everywhere on the page: 'bad' from 5%, 'warn' above 0, else null.
export function failureTone(share) {
  if (share >= 0.05) return 'bad';
  if (share > 0) return 'warn';
  return null;
}

// A share 0..1 as a percentage.
export function percent(share) {
  if (share === null || share === undefined) return '–';
  if (share === 0) return '0%';
  const p = share * 100;
  if (p < 0.1) return '<0.1%';
  if (p < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

// Milliseconds; null (no requests) as a dash.
export function ms(value) {
  if (value === null || value === undefined) return '–';
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(2)} s`;
}

// A duration in seconds as its two largest units: "23h 59m", "4m 10s", "expired".
export function timeLeft(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds <= 0) return 'expired';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

const two = (n) => String(n).padStart(2, '0');

// Local wall-clock time HH:MM:SS.
export function clock(date) {
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

// Local time with milliseconds, for trace starts.
export function clockMs(date) {
  return `${clock(date)}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

// "how long ago", from an ISO timestamp.
export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '–';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// The raw number for a data-* attribute: "" for null (p99 without requests).
export function raw(value) {
  return value === null || value === undefined ? '' : String(value);
}
