/** `mailprobe ses-smtp-password`: the SES SMTP password of an IAM secret access key. */
import { deriveSesSmtpPassword } from '../../lambdas/engine/ses/smtp-password.js';
import { stringOption, UsageError, type Parsed } from './args.js';
import type { Io } from './io.js';

export async function sesSmtpPassword(parsed: Parsed, io: Io): Promise<number> {
  const region = stringOption(parsed.values, 'region');
  if (region === undefined)
    throw new UsageError('ses-smtp-password: --region is required (the password differs per region)');
  const keyEnv = stringOption(parsed.values, 'key-env');
  let key: string | undefined;
  if (keyEnv !== undefined) {
    key = io.env[keyEnv];
    if (key === undefined || key === '')
      throw new UsageError(`ses-smtp-password: environment variable ${keyEnv} is not set`);
  } else {
    if (io.stdin.isTTY === true) io.stderr.write('Paste the IAM secret access key, then press Enter:\n');
    key = (await readAll(io.stdin)).trim();
    if (key === '')
      throw new UsageError('ses-smtp-password: no secret access key on standard input (or use --key-env VAR)');
  }
  try {
    io.stdout.write(`${deriveSesSmtpPassword(key, region)}\n`);
  } catch (err) {
    throw new UsageError(`ses-smtp-password: ${(err as Error).message}`);
  }
  return 0;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > 4096) throw new UsageError('ses-smtp-password: standard input is too long for a secret access key');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
