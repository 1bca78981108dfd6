/**
 * The header section of a received message, read without trusting it: bounded in bytes and
 * in fields, folded lines joined (RFC 5322 §2.2.3), names case-insensitive. Only what the
 * flow needs is kept: the token, the Received chain, Authentication-Results.
 */

/** A header section larger than this is cut here; real ones are a few KB, 500 hops ~ 150 KB. */
export const MAX_HEADER_BYTES = 256 * 1024;
/** Fields kept per message; the rest are counted, not stored. */
export const MAX_FIELDS = 1_000;
/** One unfolded field is cut at this length (a Received line is ~300 bytes). */
export const MAX_FIELD_LENGTH = 8 * 1024;

export interface HeaderField {
  /** Lower-case. */
  readonly name: string;
  readonly value: string;
}

export interface HeaderSection {
  readonly fields: readonly HeaderField[];
  /** Fields beyond MAX_FIELDS or bytes beyond MAX_HEADER_BYTES were dropped. */
  readonly truncated: boolean;
}

/** The header fields of `message` (the bytes up to the first empty line). */
export function readHeaders(message: Buffer | string): HeaderSection {
  const raw = typeof message === 'string' ? Buffer.from(message, 'latin1') : message;
  const head = raw.subarray(0, MAX_HEADER_BYTES);
  const crlf = head.indexOf('\r\n\r\n');
  const lf = head.indexOf('\n\n');
  const end = crlf < 0 ? lf : lf < 0 ? crlf : Math.min(crlf, lf);
  const truncated = end < 0 && raw.length > MAX_HEADER_BYTES;
  // latin1 keeps every byte as one character: no decoding error on hostile 8-bit headers.
  const text = head.subarray(0, end < 0 ? head.length : end).toString('latin1');
  const fields: HeaderField[] = [];
  let dropped = truncated;
  let current: string | undefined;
  const flush = () => {
    if (current === undefined) return;
    const colon = current.indexOf(':');
    if (colon > 0) {
      if (fields.length >= MAX_FIELDS) dropped = true;
      else
        fields.push({
          name: current.slice(0, colon).trim().toLowerCase(),
          value: current
            .slice(colon + 1)
            .trim()
            .slice(0, MAX_FIELD_LENGTH),
        });
    }
    current = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current !== undefined && current.length < MAX_FIELD_LENGTH) current += ` ${line.trim()}`;
      continue;
    }
    flush();
    current = line;
  }
  flush();
  return { fields, truncated: dropped };
}

export function headerValues(section: HeaderSection, name: string): string[] {
  const wanted = name.toLowerCase();
  return section.fields.filter((f) => f.name === wanted).map((f) => f.value);
}
