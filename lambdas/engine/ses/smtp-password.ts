/**
 * The SES SMTP password of an IAM secret access key, by AWS's documented derivation
 * (docs.aws.amazon.com/ses/latest/dg/smtp-credentials.html, "Obtaining Amazon SES SMTP
 * credentials by converting existing AWS credentials"): a SigV4 signing-key chain with
 * fixed inputs, then version byte 0x04 prepended, then base64.
 *
 * Used by `mailprobe ses-smtp-password --region R` so users can check that the password
 * they stored matches the IAM key it should come from. Pure; never logs its input.
 */
import { createHmac } from 'node:crypto';
import { SES_SMTP_REGIONS, SesPresetError, isSesSmtpRegion } from './presets.js';

// Fixed by AWS; changing any of them yields a password SES rejects with 535.
const DATE = '11111111';
const SERVICE = 'ses';
const TERMINAL = 'aws4_request';
const MESSAGE = 'SendRawEmail';
/** Version 4: the SigV4-based derivation (version 2, the SigV2 one, stopped working in 2019+). */
const VERSION = 0x04;

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * Derives the SES SMTP password for `secretAccessKey` in `region`. The password is
 * region-specific: the same key gives a different password in every region.
 *
 * @throws SesPresetError (SES_UNKNOWN_REGION) when the region has no SES SMTP endpoint
 * @throws TypeError when the key is empty or has surrounding whitespace (a pasted
 *   newline would silently give a wrong password)
 */
export function deriveSesSmtpPassword(secretAccessKey: string, region: string): string {
  if (secretAccessKey.length === 0) throw new TypeError('The secret access key is empty.');
  if (secretAccessKey.trim() !== secretAccessKey) {
    throw new TypeError(
      'The secret access key has leading or trailing whitespace; remove it (e.g. a trailing newline).',
    );
  }
  if (!isSesSmtpRegion(region)) {
    throw new SesPresetError(
      'SES_UNKNOWN_REGION',
      region,
      `"${region}" is not a region with an Amazon SES SMTP endpoint. Valid regions: ${SES_SMTP_REGIONS.join(', ')}.`,
    );
  }
  let signature = hmac(Buffer.from(`AWS4${secretAccessKey}`, 'utf8'), DATE);
  for (const part of [region, SERVICE, TERMINAL, MESSAGE]) signature = hmac(signature, part);
  return Buffer.concat([Buffer.from([VERSION]), signature]).toString('base64');
}
