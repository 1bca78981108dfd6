/**
 * A hostile server decides how much it sends (a certificate with thousands of SANs, a
 * 30-certificate chain, hundreds of MX hosts or addresses), but not how big a result gets:
 * every result leaves the engine through `boundResult`, so one JSON log line, one SNS
 * message and one state item stay small whatever the target serves. CloudWatch Logs takes
 * 256 KB per event (1 MB since 2025) and SNS 256 KB per message; a result is held to
 * `RESULT_LIMITS.maxBytes` (32 KiB), far below both, so an alert that quotes a result
 * always fits.
 *
 * The contract (schema/): a list may stop short of what the server sent; then a sibling
 * field `<list>Omitted` counts the entries left out (`subjectAltNames` → `subjectAltNamesOmitted`).
 * A string may end in `… (N more characters)`. Lists keep their first entries: findings are
 * sorted worst first, so the status-deciding finding always stays; a chain keeps its leaf.
 */

export const RESULT_LIMITS = {
  /** Serialised size a result is held under, in bytes of UTF-8 JSON. */
  maxBytes: 32 * 1024,
  /** First pass: entries kept per list, characters per string. Ordinary results never reach them. */
  listEntries: 100,
  stringChars: 4096,
  /** Tightening stops here: below this the result would stop saying what was wrong. */
  minListEntries: 4,
  minStringChars: 200,
} as const;

/** What is added next to a shortened list: `<list>Omitted`. */
export const OMITTED_SUFFIX = 'Omitted';

interface Caps {
  readonly listEntries: number;
  readonly stringChars: number;
}

/**
 * The result, unchanged when it is within the limits; otherwise a copy with every list and
 * string capped, the caps halved until the JSON fits `maxBytes`. The fields every result
 * shares (check, target, name, status, startedAt, durationMs) are never shortened.
 */
export function boundResult<R extends object>(result: R, limits: typeof RESULT_LIMITS = RESULT_LIMITS): R {
  if (jsonBytes(result) <= limits.maxBytes) return result;
  let caps: Caps = { listEntries: limits.listEntries, stringChars: limits.stringChars };
  for (;;) {
    const bounded = capObject(result as Record<string, unknown>, caps, true) as R;
    const atFloor = caps.listEntries <= limits.minListEntries && caps.stringChars <= limits.minStringChars;
    if (jsonBytes(bounded) <= limits.maxBytes || atFloor) return atFloor ? lastResort(bounded, limits) : bounded;
    caps = {
      listEntries: Math.max(limits.minListEntries, Math.floor(caps.listEntries / 2)),
      stringChars: Math.max(limits.minStringChars, Math.floor(caps.stringChars / 2)),
    };
  }
}

const PROTECTED = new Set(['check', 'target', 'name', 'status', 'startedAt', 'durationMs']);

function capObject(value: Record<string, unknown>, caps: Caps, top: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (top && PROTECTED.has(key)) {
      out[key] = field;
      continue;
    }
    if (Array.isArray(field) && field.length > caps.listEntries) {
      out[key] = field.slice(0, caps.listEntries).map((entry) => capValue(entry, caps));
      const already = typeof value[key + OMITTED_SUFFIX] === 'number' ? (value[key + OMITTED_SUFFIX] as number) : 0;
      out[key + OMITTED_SUFFIX] = already + field.length - caps.listEntries;
      continue;
    }
    if (key.endsWith(OMITTED_SUFFIX) && key in out) continue;
    out[key] = capValue(field, caps);
  }
  return out;
}

function capValue(value: unknown, caps: Caps): unknown {
  if (typeof value === 'string') return capString(value, caps.stringChars);
  if (Array.isArray(value)) return value.slice(0, caps.listEntries).map((entry) => capValue(entry, caps));
  if (value !== null && typeof value === 'object') return capObject(value as Record<string, unknown>, caps, false);
  return value;
}

function capString(text: string, chars: number): string {
  if (text.length <= chars) return text;
  return `${text.slice(0, chars)}… (${text.length - chars} more characters)`;
}

/**
 * Only a result whose shape itself is hostile (thousands of keys in one object) gets here:
 * keep the shared fields and the first findings, and say the details were dropped.
 */
function lastResort<R extends object>(bounded: R, limits: typeof RESULT_LIMITS): R {
  if (jsonBytes(bounded) <= limits.maxBytes) return bounded;
  const record = bounded as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  for (const key of PROTECTED) if (key in record) kept[key] = record[key];
  const findings = Array.isArray(record['findings']) ? record['findings'] : [];
  kept['findings'] = findings.slice(0, limits.minListEntries);
  if (findings.length > limits.minListEntries)
    kept['findings' + OMITTED_SUFFIX] = findings.length - limits.minListEntries;
  kept['detailsOmitted'] = true;
  return kept as R;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
