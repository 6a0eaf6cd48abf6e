// Timestamps as runc writes them: RFC 3339 with a fractional second, UTC.

/** Now, as "2026-11-23T20:22:54.107581000Z" (microsecond precision, the best Node's clock gives). */
export function nowTimestamp(): string {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const micros = Math.floor((ms - whole) * 1000);
  const iso = new Date(whole).toISOString(); // "…T20:22:54.107Z"
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}000Z`;
}
