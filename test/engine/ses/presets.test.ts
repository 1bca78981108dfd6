import { describe, expect, it } from 'vitest';
import {
  SES_SMTP_PORTS,
  SES_SMTP_REGIONS,
  SesPresetError,
  expandSesPreset,
  expandSesTlsPreset,
  isSesEndpoint,
  sesHint,
  sesRegionOf,
  withSesHints,
} from '../../../lambdas/engine/ses/presets.js';
import { FINDINGS, finding } from '../../../lambdas/engine/findings.js';

function presetError(fn: () => unknown): SesPresetError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SesPresetError) return err;
    throw err;
  }
  throw new Error('expected a SesPresetError');
}

describe('expandSesPreset', () => {
  it('expands a region into the five endpoints with the documented TLS modes', () => {
    const specs = expandSesPreset({ region: 'us-east-1' });
    expect(specs.map((s) => [s.name, s.host, s.port, s.tls])).toEqual([
      ['ses-us-east-1-25', 'email-smtp.us-east-1.amazonaws.com', 25, 'starttls'],
      ['ses-us-east-1-587', 'email-smtp.us-east-1.amazonaws.com', 587, 'starttls'],
      ['ses-us-east-1-2587', 'email-smtp.us-east-1.amazonaws.com', 2587, 'starttls'],
      ['ses-us-east-1-465', 'email-smtp.us-east-1.amazonaws.com', 465, 'implicit'],
      ['ses-us-east-1-2465', 'email-smtp.us-east-1.amazonaws.com', 2465, 'implicit'],
    ]);
    expect(specs.every((s) => s.check === 'smtp')).toBe(true);
    expect(SES_SMTP_PORTS).toEqual([25, 587, 2587, 465, 2465]);
  });

  it('keeps only the configured ports, in order, and carries auth, test message and timeout', () => {
    const specs = expandSesPreset({
      region: 'eu-west-1',
      ports: [587, 2587, 465],
      name: 'prod-ses',
      auth: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-smtp' },
      testMessage: { from: 'probe@verified.example', to: 'success@simulator.amazonses.com' },
      timeoutMs: 9000,
    });
    expect(specs.map((s) => s.name)).toEqual(['prod-ses-587', 'prod-ses-2587', 'prod-ses-465']);
    expect(specs[0]).toEqual({
      check: 'smtp',
      name: 'prod-ses-587',
      host: 'email-smtp.eu-west-1.amazonaws.com',
      port: 587,
      tls: 'starttls',
      auth: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-smtp' },
      testMessage: { from: 'probe@verified.example', to: 'success@simulator.amazonses.com' },
      timeoutMs: 9000,
    });
    expect(specs[2]).toEqual({
      check: 'smtp',
      name: 'prod-ses-465',
      host: 'email-smtp.eu-west-1.amazonaws.com',
      port: 465,
      tls: 'implicit',
      auth: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-smtp' },
      timeoutMs: 9000,
    });
    expect('auth' in expandSesPreset({ region: 'eu-west-1', ports: [587] })[0]!).toBe(false);
  });

  it('sends the test message on one port only (each message is billed), the first by default', () => {
    const testMessage = { from: 'probe@verified.example', to: 'success@simulator.amazonses.com' };
    const byDefault = expandSesPreset({ region: 'eu-west-1', ports: [587, 465], testMessage });
    expect(byDefault.map((s) => s.testMessage !== undefined)).toEqual([true, false]);
    const chosen = expandSesPreset({ region: 'eu-west-1', ports: [587, 465], testMessage, testMessagePort: 465 });
    expect(chosen.map((s) => s.testMessage !== undefined)).toEqual([false, true]);
    const err = presetError(() =>
      expandSesPreset({ region: 'eu-west-1', ports: [587], testMessage, testMessagePort: 25 }),
    );
    expect(err.code).toBe('SES_UNKNOWN_PORT');
    expect(err.message).toContain('testMessagePort 25');
  });

  it('uses the FIPS host where SES has one', () => {
    const specs = expandSesPreset({ region: 'us-gov-west-1', fips: true, ports: [587] });
    expect(specs).toEqual([
      {
        check: 'smtp',
        name: 'ses-fips-us-gov-west-1-587',
        host: 'email-smtp-fips.us-gov-west-1.amazonaws.com',
        port: 587,
        tls: 'starttls',
      },
    ]);
    const err = presetError(() => expandSesPreset({ region: 'eu-west-1', fips: true }));
    expect(err.code).toBe('SES_NO_FIPS_ENDPOINT');
    expect(err.message).toContain('us-east-1');
  });

  it('rejects an unknown region with the list of valid regions', () => {
    const err = presetError(() => expandSesPreset({ region: 'eu-westt-1' }));
    expect(err.code).toBe('SES_UNKNOWN_REGION');
    expect(err.value).toBe('eu-westt-1');
    for (const region of SES_SMTP_REGIONS) expect(err.message).toContain(region);
  });

  it('rejects ports SES does not serve and an empty port list', () => {
    const err = presetError(() => expandSesPreset({ region: 'eu-west-1', ports: [587, 2525] }));
    expect(err.code).toBe('SES_UNKNOWN_PORT');
    expect(err.value).toBe('2525');
    expect(presetError(() => expandSesPreset({ region: 'eu-west-1', ports: [] })).code).toBe('SES_UNKNOWN_PORT');
  });
});

describe('expandSesTlsPreset', () => {
  it('picks one STARTTLS and one implicit port for the TLS posture check', () => {
    expect(expandSesTlsPreset({ region: 'ap-southeast-2' })).toEqual([
      {
        check: 'tls',
        name: 'ses-ap-southeast-2-tls-25',
        host: 'email-smtp.ap-southeast-2.amazonaws.com',
        port: 25,
        tls: 'starttls',
      },
      {
        check: 'tls',
        name: 'ses-ap-southeast-2-tls-465',
        host: 'email-smtp.ap-southeast-2.amazonaws.com',
        port: 465,
        tls: 'implicit',
      },
    ]);
    expect(expandSesTlsPreset({ region: 'ap-southeast-2', ports: [2587] }).map((s) => s.port)).toEqual([2587]);
  });
});

describe('isSesEndpoint / sesRegionOf', () => {
  it.each([
    ['email-smtp.eu-west-1.amazonaws.com', 'eu-west-1'],
    ['EMAIL-SMTP.US-EAST-1.AMAZONAWS.COM.', 'us-east-1'],
    ['email-smtp-fips.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['vpce-0abc123-xyz.email-smtp.us-west-2.vpce.amazonaws.com', 'us-west-2'],
  ])('recognises %s', (host, region) => {
    expect(sesRegionOf(host)).toBe(region);
    expect(isSesEndpoint(host)).toBe(true);
  });

  it.each([
    'smtp.example.com',
    'email-smtp.eu-west-1.amazonaws.com.evil.example',
    'email-smtp.nowhere-1.amazonaws.com',
    'email.eu-west-1.amazonaws.com',
    'inbound-smtp.eu-west-1.amazonaws.com',
  ])('does not treat %s as SES', (host) => {
    expect(isSesEndpoint(host)).toBe(false);
  });
});

describe('sesHint', () => {
  it('gives SES-specific hints for the failures SES users hit', () => {
    expect(sesHint('AUTH_FAILED')).toMatch(/not the IAM access key/);
    expect(sesHint('AUTH_FAILED')).toMatch(/rotated/);
    expect(sesHint('SENDER_REJECTED')).toMatch(/THIS region/);
    expect(sesHint('SENDER_REJECTED')).toMatch(/sandbox/);
    expect(sesHint('DH_WEAK')).toMatch(/ECDHE/);
    expect(sesHint('TLS_LEGACY_PROTOCOL')).toMatch(/TLS 1\.2 and 1\.3/);
    expect(sesHint('CONNECT_TIMEOUT', { port: 25 })).toMatch(/587 or 2587/);
    expect(sesHint('CONNECT_TIMEOUT', { port: 587 })).not.toMatch(/port 25/);
  });

  it('tells a quota refusal from a verification one by the SES reply', () => {
    const quota = sesHint('MESSAGE_REJECTED', { reply: '454 Throttling failure: Daily message quota exceeded.' });
    expect(quota).toMatch(/sending limit is reached/);
    expect(sesHint('SENDER_REJECTED', { reply: '454 Throttling failure: Maximum sending rate exceeded.' })).toBe(quota);
    expect(sesHint('SENDER_REJECTED', { reply: '554 Message rejected: Email address is not verified.' })).toMatch(
      /THIS region/,
    );
    expect(sesHint('AUTH_FAILED', { reply: 'Daily message quota exceeded' })).toMatch(/535/);
    const [f] = withSesHints(
      [
        finding(
          'MESSAGE_REJECTED',
          'the message was rejected after DATA: 454 Throttling failure: Daily message quota exceeded.',
        ),
      ],
      'email-smtp.eu-west-1.amazonaws.com',
      587,
    );
    expect(f!.hint).toBe(quota);
  });

  it('leaves codes without an SES angle to the catalogue', () => {
    expect(sesHint('CERT_EXPIRING')).toBeUndefined();
    expect(sesHint('MTASTS_TXT_MISSING')).toBeUndefined();
  });

  it('withSesHints replaces hints on SES hosts only', () => {
    const findings = [finding('AUTH_FAILED', '535 Authentication Credentials Invalid'), finding('CERT_EXPIRING', 'x')];
    const ses = withSesHints(findings, 'email-smtp.eu-west-1.amazonaws.com', 587);
    expect(ses[0]!.hint).toBe(sesHint('AUTH_FAILED'));
    expect(ses[0]!.message).toBe('535 Authentication Credentials Invalid');
    expect(ses[1]!.hint).toBe(FINDINGS.CERT_EXPIRING.hint);
    const other = withSesHints(findings, 'relay.example.com', 587);
    expect(other[0]!.hint).toBe(FINDINGS.AUTH_FAILED.hint);
  });
});
