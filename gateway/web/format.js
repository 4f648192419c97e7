// Formatting of the gateway's JSON values for display.
//
// Money, prices and quantities arrive as plain decimal strings ("64000.5") and are formatted
// as strings: digits are regrouped, shifted (fractions to percent) and rounded with BigInt, never
// through a JS float. Only the charts convert to numbers (toChartNumber).

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;

export const DASH = '—';

// A decimal as the gateway sends it (a plain string, "64000.5"); undefined when absent or empty.
export function decimalString(d) {
  if (d === undefined || d === null) return undefined;
  const t = String(d).trim();
  return t === '' ? undefined : t;
}

// {neg, int, frac} with int stripped of leading zeros ("0" at least), or null when not plain notation.
export function parseDecimal(d) {
  const s = decimalString(d);
  if (s === undefined) return null;
  const m = DECIMAL_RE.exec(s);
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) return null;
  const int = m[2].replace(/^0+(?=\d)/, '') || '0';
  const frac = m[3] || '';
  return { neg: m[1] === '-', int, frac };
}

function toScaled(p, places) {
  // BigInt of |value| x 10^places, truncated; plus whether the dropped digits are >= half.
  const frac = (p.frac + '0'.repeat(Math.max(0, places - p.frac.length)));
  const kept = frac.slice(0, places);
  const dropped = frac.slice(places);
  const scaled = BigInt(p.int + kept);
  const roundUp = dropped.length > 0 && dropped[0] >= '5';
  return { scaled, roundUp };
}

function fromScaled(neg, scaled, places) {
  let digits = scaled.toString();
  if (places > 0) {
    digits = digits.padStart(places + 1, '0');
    const int = digits.slice(0, digits.length - places);
    const frac = digits.slice(digits.length - places);
    return { neg: neg && scaled !== 0n, int, frac };
  }
  return { neg: neg && scaled !== 0n, int: digits, frac: '' };
}

// Rounds half away from zero to `places` fraction digits (padding with zeros).
export function roundDecimal(p, places) {
  const { scaled, roundUp } = toScaled(p, places);
  return fromScaled(p.neg, roundUp ? scaled + 1n : scaled, places);
}

// Multiplies by 10^n (n >= 0) by moving the decimal point.
export function shiftDecimal(p, n) {
  const frac = p.frac + '0'.repeat(Math.max(0, n - p.frac.length));
  const int = (p.int + frac.slice(0, n)).replace(/^0+(?=\d)/, '') || '0';
  return { neg: p.neg, int, frac: frac.slice(n) };
}

function groupThousands(int) {
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function isZero(p) {
  return /^0*$/.test(p.int) && /^0*$/.test(p.frac);
}

function render(p, { group = true, sign = false } = {}) {
  const body = (group ? groupThousands(p.int) : p.int) + (p.frac ? '.' + p.frac : '');
  if (p.neg && !isZero(p)) return '−' + body; // U+2212: a real minus sign
  if (sign && !isZero(p)) return '+' + body;
  return body;
}

// A decimal as given (every digit kept), thousands grouped. `places` rounds to that many digits.
export function fmtDecimal(d, { places, sign = false, group = true } = {}) {
  const p = parseDecimal(d);
  if (!p) return decimalString(d) ?? DASH;
  const q = places === undefined ? p : roundDecimal(p, places);
  return render(q, { group, sign });
}

// Money in USDT: rounded to cents for the table (the exact value goes in a tooltip).
export function fmtMoney(d, { sign = false } = {}) {
  return fmtDecimal(d, { places: 2, sign });
}

// A fraction (0.0512) as a percent ("5.12%").
export function fmtPercent(d, { places = 2, sign = false } = {}) {
  const p = parseDecimal(d);
  if (!p) return DASH;
  return render(roundDecimal(shiftDecimal(p, 2), places), { sign }) + '%';
}

// -1, 0 or 1; 0 when absent.
export function signOf(d) {
  const p = parseDecimal(d);
  if (!p || isZero(p)) return 0;
  return p.neg ? -1 : 1;
}

// Exact comparison of two decimals: -1, 0, 1; null when either is absent.
export function compareDecimal(a, b) {
  const pa = parseDecimal(a);
  const pb = parseDecimal(b);
  if (!pa || !pb) return null;
  const places = Math.max(pa.frac.length, pb.frac.length);
  const va = toScaled(pa, places).scaled * (pa.neg ? -1n : 1n);
  const vb = toScaled(pb, places).scaled * (pb.neg ? -1n : 1n);
  return va < vb ? -1 : va > vb ? 1 : 0;
}

// For charts only: the decimal as a JS number (NaN when absent).
export function toChartNumber(d) {
  const s = decimalString(d);
  return s === undefined ? NaN : Number(s);
}

// int64 fields arrive as JSON strings (protojson) or numbers; absent means 0.
export function fmtInt(v) {
  if (v === undefined || v === null || v === '') return '0';
  return groupThousands(String(v));
}

// "TRADING_MODE_PAPER" -> "PAPER".
export function enumLabel(v, prefix) {
  if (!v) return DASH;
  const s = String(v);
  return s.startsWith(prefix) ? s.slice(prefix.length) : s;
}

// RFC 3339 -> milliseconds since the epoch (NaN when absent or malformed).
export function timeMs(ts) {
  if (!ts) return NaN;
  return Date.parse(ts);
}

const pad2 = (n) => String(n).padStart(2, '0');

// Local wall-clock time, "14:03:07".
export function fmtClock(ts) {
  const ms = typeof ts === 'number' ? ts : timeMs(ts);
  if (!Number.isFinite(ms)) return DASH;
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

// Local date and time, "2025-03-01 14:03:07" (date left out when it is today).
export function fmtDateTime(ts) {
  const ms = timeMs(ts);
  if (!Number.isFinite(ms)) return DASH;
  const d = new Date(ms);
  const now = new Date();
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() &&
    d.getDate() === now.getDate();
  const clock = fmtClock(ms);
  return sameDay ? clock : `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${clock}`;
}

// "3m 12s", "2h 05m", "4d 03h" for a duration in ms.
export function fmtDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return DASH;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${pad2(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${pad2(h % 24)}h`;
}
