// Prints a cdk.out folder's templates and a `mailprobe run --json` document with what differs
// between any two runs replaced by placeholders (scripts/compare-behaviour.sh diffs two of these).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

const [cdkOut, runJson] = process.argv.slice(2);

/** Keys whose values differ between two runs of the same thing. */
const VOLATILE_KEYS = new Set([
  'startedAt',
  'durationMs',
  'timings',
  'elapsedMs',
  'notBefore',
  'notAfter',
  'fingerprint',
  'fingerprintSha256',
  'serialNumber',
  'spki',
  'spkiSha256',
]);

function normalizeText(text) {
  return text
    .replace(/\b[0-9a-f]{64}\b/g, '<sha256>')
    .replace(/(127\.0\.0\.1|\.test):\d+/g, '$1:<port>')
    .replace(/\bport \d{4,5}\b/g, 'port <port>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\b\d+ ms\b/g, '<n> ms');
}

function normalize(value, key) {
  if (key !== undefined && VOLATILE_KEYS.has(key)) return '<volatile>';
  if (typeof value === 'string') return normalizeText(value);
  if (key === 'port' && typeof value === 'number') return '<port>';
  if (Array.isArray(value)) return value.map((v) => normalize(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, normalize(value[k], k)]),
    );
  }
  return value;
}

const lines = [];
for (const file of readdirSync(cdkOut)
  .filter((f) => f.endsWith('.template.json'))
  .sort()) {
  const template = JSON.parse(readFileSync(join(cdkOut, file), 'utf8'));
  lines.push(`== template ${file}`, JSON.stringify(normalize(template), null, 1));
}
if (existsSync(runJson)) {
  lines.push(
    '== mailprobe run --json (demo)',
    JSON.stringify(normalize(JSON.parse(readFileSync(runJson, 'utf8'))), null, 1),
  );
} else {
  lines.push('== mailprobe run --json (demo): no output');
}
process.stdout.write(`${lines.join('\n')}\n`);
