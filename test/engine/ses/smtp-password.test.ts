import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { deriveSesSmtpPassword } from '../../../lambdas/engine/ses/smtp-password.js';
import { SesPresetError } from '../../../lambdas/engine/ses/presets.js';

// AWS's documented example secret access key (SigV4 docs), not a real credential.
const EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/**
 * The derivation recomputed with the openssl CLI only (no Node crypto): HMAC-SHA256
 * chain from "AWS4" + key over 11111111, region, ses, aws4_request, SendRawEmail;
 * 0x04 prepended; base64 by `openssl base64`.
 */
function opensslPassword(secret: string, region: string): string {
  let keyHex = Buffer.from(`AWS4${secret}`, 'utf8').toString('hex');
  for (const part of ['11111111', region, 'ses', 'aws4_request', 'SendRawEmail']) {
    const out = execFileSync('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${keyHex}`, '-binary'], {
      input: part,
    });
    keyHex = out.toString('hex');
  }
  const withVersion = Buffer.concat([Buffer.from([0x04]), Buffer.from(keyHex, 'hex')]);
  return execFileSync('openssl', ['base64', '-A'], { input: withVersion }).toString('utf8').trim();
}

describe('deriveSesSmtpPassword', () => {
  it('matches the vector published by independent implementations for the AWS example key', () => {
    // Computed with AWS's Python script (smtp-credentials.html) and pinned in the test
    // suites of several unrelated public implementations (PHP, Go, Python).
    expect(deriveSesSmtpPassword(EXAMPLE_SECRET, 'us-east-1')).toBe('BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9');
    expect(deriveSesSmtpPassword(EXAMPLE_SECRET, 'eu-west-1')).toBe('BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk');
  });

  it.each(['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1'])(
    'matches an openssl-CLI HMAC chain in %s',
    (region) => {
      const secret = 'Zx9+k/ExampleOnly0000000000000000000000';
      expect(deriveSesSmtpPassword(secret, region)).toBe(opensslPassword(secret, region));
    },
  );

  it('is region-specific and starts with the version byte 0x04', () => {
    const east = deriveSesSmtpPassword(EXAMPLE_SECRET, 'us-east-1');
    const west = deriveSesSmtpPassword(EXAMPLE_SECRET, 'us-west-2');
    expect(east).not.toBe(west);
    const raw = Buffer.from(east, 'base64');
    expect(raw.length).toBe(33);
    expect(raw[0]).toBe(0x04);
  });

  it('rejects a region without an SES SMTP endpoint, listing the valid ones', () => {
    let caught: unknown;
    try {
      deriveSesSmtpPassword(EXAMPLE_SECRET, 'us-central-1');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SesPresetError);
    expect((caught as SesPresetError).code).toBe('SES_UNKNOWN_REGION');
    expect((caught as SesPresetError).message).toContain('eu-west-1');
    expect((caught as SesPresetError).message).not.toContain(EXAMPLE_SECRET);
  });

  it('rejects an empty key and a key with a pasted newline instead of deriving a wrong password', () => {
    expect(() => deriveSesSmtpPassword('', 'us-east-1')).toThrow(TypeError);
    expect(() => deriveSesSmtpPassword(`${EXAMPLE_SECRET}\n`, 'us-east-1')).toThrow(/whitespace/);
  });
});
