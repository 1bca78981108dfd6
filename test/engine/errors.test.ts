/** One error base class (errors.ts): a name, a cause and context on every engine error. */
import { describe, expect, it } from 'vitest';
import { MailprobeError, ProbeError } from '../../lambdas/engine/errors.js';
import { DnsError } from '../../lambdas/engine/net/resolver.js';
import { CredentialError } from '../../lambdas/engine/secrets.js';

describe('one error base class', () => {
  it('gives every engine error a name, a cause and context', () => {
    const cause = new Error('socket');
    const errors: MailprobeError[] = [
      new ProbeError('CONNECT_RESET', 'reset', { stage: 'greeting', cause }),
      new DnsError('SERVFAIL', 'example.com', 'MX', cause),
      new CredentialError('SECRET_NOT_FOUND', 'arn:aws:secretsmanager:eu-west-1:1:secret:x', 'not found'),
    ];
    expect(errors.map((e) => [e.name, e instanceof MailprobeError])).toEqual([
      ['ProbeError', true],
      ['DnsError', true],
      ['CredentialError', true],
    ]);
    expect(errors[0]?.context).toEqual({ code: 'CONNECT_RESET', stage: 'greeting' });
    expect(errors[0]?.cause).toBe(cause);
    expect(errors[1]?.context).toEqual({ kind: 'SERVFAIL', query: 'example.com', rrtype: 'MX' });
  });
});
