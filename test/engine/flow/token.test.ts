import { describe, expect, it } from 'vitest';
import {
  createToken,
  FlowKeyError,
  generateFlowKey,
  MAX_TOKEN_LENGTH,
  parseFlowKey,
  verifyToken,
} from '../../../lambdas/engine/flow/token.js';

const key = Buffer.alloc(32, 7);

describe('flow token', () => {
  it('verifies a token made with the same key and gives back flow, time and nonce', () => {
    const token = createToken(key, 'ses-eu → m365', 1_780_000_000_000, 'abcdef012345');
    const back = verifyToken(key, token.value);
    expect(back).toEqual({
      flow: 'ses-eu → m365',
      sentAt: 1_780_000_000_000,
      nonce: 'abcdef012345',
      value: token.value,
    });
  });

  it('refuses a token made with another key', () => {
    const token = createToken(generateFlowKey(), 'f', 1);
    expect(verifyToken(key, token.value)).toBeUndefined();
  });

  it.each([
    ['another send time', (v: string) => v.replace(/\.(\d+)\./, (_, t: string) => `.${Number(t) + 1}.`)],
    ['another flow name', (v: string) => v.replace(/^mp1\.[^.]+/, `mp1.${Buffer.from('g').toString('base64url')}`)],
    ['a cut MAC', (v: string) => v.slice(0, -2)],
    ['another version', (v: string) => v.replace(/^mp1/, 'mp2')],
    ['an extra part', (v: string) => `${v}.x`],
    ['a non-hex nonce', (v: string) => v.replace(/\.([0-9a-f]+)\.([^.]+)$/, '.zz.$2')],
  ])('refuses %s', (_, forge) => {
    const token = createToken(key, 'f', 1_780_000_000_000);
    expect(verifyToken(key, forge(token.value))).toBeUndefined();
  });

  it('refuses an over-long header value without parsing it', () => {
    expect(verifyToken(key, `mp1.${'A'.repeat(MAX_TOKEN_LENGTH)}`)).toBeUndefined();
    expect(verifyToken(key, '.'.repeat(100_000))).toBeUndefined();
  });

  it('refuses flow names that do not fit', () => {
    expect(() => createToken(key, '', 1)).toThrow(RangeError);
    expect(() => createToken(key, 'x'.repeat(65), 1)).toThrow(RangeError);
  });
});

describe('parseFlowKey', () => {
  it('reads hex and base64 keys of at least 32 bytes', () => {
    expect(parseFlowKey('ab'.repeat(32))).toEqual(Buffer.alloc(32, 0xab));
    expect(parseFlowKey(Buffer.alloc(48, 1).toString('base64'))).toEqual(Buffer.alloc(48, 1));
  });

  it('refuses short keys and other text, without echoing the key', () => {
    expect(() => parseFlowKey('ab'.repeat(16))).toThrow(/16 bytes, at least 32/);
    expect(() => parseFlowKey('not a key!')).toThrow(FlowKeyError);
    try {
      parseFlowKey('secret-secret!');
    } catch (err) {
      expect((err as Error).message).not.toContain('secret');
    }
  });
});
