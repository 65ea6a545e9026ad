// Number, time and duration formatting for tables, badges and charts (locale-independent on
// purpose: screenshots and tests read the same text everywhere).

/** 1234 -> "1.2K", 2500000 -> "2.5M". */
export function abbrev(value) {
  const n = Number(value) || 0;
  const abs = Math.abs(n);
  const units = [[1e9, "B"], [1e6, "M"], [1e3, "K"]];
  for (const [size, unit] of units) {
    if (abs >= size) {
      const scaled = n / size;
      return (Math.abs(scaled) >= 100 ? scaled.toFixed(0) : scaled.toFixed(1).replace(/\.0$/, "")) + unit;
    }
  }
  return String(Math.round(n));
}

/** 0.4567 -> "45.7%"; null/undefined -> "—". */
export function percent(ratio, digits) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "—";
  return (ratio * 100).toFixed(digits === undefined ? 1 : digits).replace(/\.0$/, "") + "%";
}

/** Milliseconds as "850 ms", "2.4 s" or "3m 05s". */
export function duration(ms) {
  const n = Number(ms) || 0;
  if (n < 1000) return Math.round(n) + " ms";
  if (n < 60000) return (n / 1000).toFixed(1) + " s";
  const minutes = Math.floor(n / 60000);
  const seconds = Math.round((n % 60000) / 1000);
  return minutes + "m " + String(seconds).padStart(2, "0") + "s";
}

const pad = (n) => String(n).padStart(2, "0");

/** An ISO timestamp as 24-hour local "HH:MM:SS". */
export function clock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
}

/** An ISO timestamp as local "YYYY-MM-DD HH:MM:SS". */
export function dateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || "";
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + clock(iso);
}

/** A stats bucket label ("2025-03-01" or "2025-03-01T14:00:00Z") as "03-01" or "03-01 14:00". */
export function bucketLabel(bucket) {
  const text = String(bucket);
  const date = text.slice(5, 10);
  return text.length > 10 ? date + " " + text.slice(11, 16) : date;
}

/** Today's local date as YYYY-MM-DD (for date inputs). */
export function isoDate(d) {
  const day = d || new Date();
  return day.getFullYear() + "-" + pad(day.getMonth() + 1) + "-" + pad(day.getDate());
}
