/** The Received: parser against the forms real MTAs write, and against hostile chains. */
import { describe, expect, it } from 'vitest';
import { readHeaders, headerValues, MAX_FIELDS, MAX_HEADER_BYTES } from '../../../lambdas/engine/flow/headers.js';
import { MAX_HOPS, parseReceived, parseReceivedChain, type Hop } from '../../../lambdas/engine/flow/received.js';

const cases: [string, string, Partial<Hop>][] = [
  [
    'Postfix with TLS 1.3',
    'from mail.example.org (mail.example.org [192.0.2.10]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256) (No client certificate requested) by mx.example.net (Postfix) with ESMTPS id 4QX1Z2abc for <probe@example.net>; Sat, 5 Dec 2026 14:00:01 +0000 (UTC)',
    {
      from: 'mail.example.org',
      fromAddress: '192.0.2.10',
      by: 'mx.example.net',
      protocol: 'ESMTPS',
      transport: 'tls',
      tlsVersion: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      at: Date.parse('2026-12-05T14:00:01Z'),
    },
  ],
  [
    'Postfix without TLS',
    'from relay.example.org (relay.example.org [192.0.2.11]) by mx.example.net (Postfix) with ESMTP id 4QX1Z2abd for <probe@example.net>; Sat, 5 Dec 2026 14:00:01 +0000 (UTC)',
    { from: 'relay.example.org', fromAddress: '192.0.2.11', protocol: 'ESMTP', transport: 'none' },
  ],
  [
    'Postfix submission with AUTH over TLS',
    'from [127.0.0.1] (localhost [127.0.0.1]) (using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)) by submit.example.org (Postfix) with ESMTPSA id 1A2B3C; Sat, 5 Dec 2026 14:00:00 +0000 (UTC)',
    { fromAddress: '127.0.0.1', protocol: 'ESMTPSA', transport: 'tls', tlsVersion: 'TLSv1.2' },
  ],
  [
    'Exim 4.9x',
    'from mail.example.org ([192.0.2.12] helo=mail.example.org) by mx.example.net with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@example.org>) id 1rAbCd-000123-45 for probe@example.net; Sat, 05 Dec 2026 14:00:02 +0000',
    {
      fromAddress: '192.0.2.12',
      protocol: 'esmtps',
      transport: 'tls',
      tlsVersion: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
    },
  ],
  [
    'Exim 4.8x with the old cipher form',
    'from host.example.org ([192.0.2.13]) by mx.example.net with esmtps (TLS1.0:ECDHE_RSA_AES_256_CBC_SHA1:256) (Exim 4.80) id 1abc; Sat, 05 Dec 2026 14:00:02 +0000',
    { transport: 'tls', tlsVersion: 'TLSv1', cipher: 'ECDHE_RSA_AES_256_CBC_SHA1' },
  ],
  [
    'Microsoft 365 with TLS',
    'from EUR05-AM6-obe.outbound.protection.outlook.com (mail-am6eur05on2070.outbound.protection.outlook.com [40.107.22.70]) by AM0PR02MB5678.eurprd02.prod.outlook.com (2603:10a6:208:2::12) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7633.0; Sat, 5 Dec 2026 14:00:03 +0000',
    {
      fromAddress: '40.107.22.70',
      protocol: 'Microsoft SMTP Server',
      transport: 'tls',
      tlsVersion: 'TLSv1.2',
      cipher: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    },
  ],
  [
    'Microsoft 365 without TLS',
    'from AM0PR02MB1234.eurprd02.prod.outlook.com (2603:10a6:208:1::1) by AM0PR02MB5678.eurprd02.prod.outlook.com (2603:10a6:208:2::12) with Microsoft SMTP Server id 15.20.7633.0; Sat, 5 Dec 2026 14:00:03 +0000',
    { transport: 'none', protocol: 'Microsoft SMTP Server' },
  ],
  [
    'Exchange on-premises TLS 1.0',
    'from ex1.corp.example (10.0.0.5) by ex2.corp.example (10.0.0.6) with Microsoft SMTP Server (version=TLS1_0, cipher=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA) id 15.1.2507.6; Sat, 5 Dec 2026 14:00:03 +0000',
    { transport: 'tls', tlsVersion: 'TLSv1' },
  ],
  [
    'Google',
    'from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com with SMTPS id a1sor123456wrb.12.2026.12.05.06.00.04 for <probe@example.com> (Google Transport Security); Sat, 05 Dec 2026 06:00:04 -0800 (PST)',
    { fromAddress: '209.85.220.41', by: 'mx.google.com', protocol: 'SMTPS', transport: 'tls' },
  ],
  [
    'Google with version and cipher',
    'from mail.example.org (mail.example.org. [192.0.2.14]) by mx.google.com with ESMTPS id x1si1234 for <probe@example.com> (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256); Sat, 05 Dec 2026 06:00:04 -0800 (PST)',
    { transport: 'tls', tlsVersion: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
  ],
  [
    'SES inbound (RFC 3848 protocol name)',
    'from a8-1.smtp-out.amazonses.com (a8-1.smtp-out.amazonses.com [54.240.8.1]) by inbound-smtp.eu-west-1.amazonaws.com with ESMTPS id 4kq2abc for probe@flow.example.com; Sat, 05 Dec 2026 14:00:05 +0000 (UTC)',
    { fromAddress: '54.240.8.1', by: 'inbound-smtp.eu-west-1.amazonaws.com', transport: 'tls' },
  ],
  [
    'Dovecot LMTP delivery (not a network hop)',
    'from mx.example.net by mx.example.net with LMTP id kFf3MJ for <probe@example.net>; Sat, 05 Dec 2026 14:00:06 +0000',
    { transport: 'local', protocol: 'LMTP' },
  ],
  [
    'Postfix pickup (local submission, no from clause)',
    'by submit.example.org (Postfix, from userid 1000) id 4QX1Z3; Sat, 5 Dec 2026 14:00:00 +0000 (UTC)',
    { transport: 'local' },
  ],
];

describe('parseReceived', () => {
  it.each(cases)('%s', (_, field, expected) => {
    expect(parseReceived(field)).toMatchObject(expected);
  });

  it('gives an unparseable field as an unknown hop rather than throwing', () => {
    expect(parseReceived('garbage ((( ;;; ')).toMatchObject({ transport: 'local' });
    expect(parseReceived('from x by y with QUANTUMSMTP id 1; nonsense date')).toMatchObject({ transport: 'unknown' });
  });

  it('parses a megabyte of nested comments in bounded time and length', () => {
    const hostile = `from ${'('.repeat(500_000)}x${')'.repeat(500_000)} by y with ESMTP id 1; Sat, 5 Dec 2026 14:00:00 +0000`;
    const hop = parseReceived(hostile);
    expect(hop.by).toBeUndefined();
  });
});

describe('parseReceivedChain', () => {
  it('orders hops oldest first', () => {
    const chain = parseReceivedChain([cases[0]![1], cases[2]![1]]);
    expect(chain.hops.map((h) => h.protocol)).toEqual(['ESMTPSA', 'ESMTPS']);
    expect(chain.dropped).toBe(0);
  });

  it('keeps the newest MAX_HOPS of a 500-hop chain and counts the rest', () => {
    const fields = Array.from(
      { length: 500 },
      (_, i) => `from h${i} ([192.0.2.1]) by h${i + 1} with ESMTPS id ${i}; Sat, 5 Dec 2026 14:00:00 +0000`,
    );
    const chain = parseReceivedChain(fields);
    expect(chain.hops).toHaveLength(MAX_HOPS);
    expect(chain.dropped).toBe(400);
    expect(chain.hops.at(-1)?.by).toBe('h1');
  });
});

describe('readHeaders', () => {
  it('unfolds fields and stops at the empty line', () => {
    const section = readHeaders(
      Buffer.from(
        'Received: from a\r\n by b with ESMTP id 1; date\r\nX-Mailprobe-Flow: mp1.x\r\n\r\nReceived: in the body\r\n',
      ),
    );
    expect(headerValues(section, 'received')).toEqual(['from a by b with ESMTP id 1; date']);
    expect(headerValues(section, 'x-mailprobe-flow')).toEqual(['mp1.x']);
  });

  it('caps a header section without an end, and the number of fields', () => {
    const many = Buffer.from('X-A: b\r\n'.repeat(200_000));
    const section = readHeaders(many);
    expect(section.fields.length).toBe(MAX_FIELDS);
    expect(section.truncated).toBe(true);
    expect(many.length).toBeGreaterThan(MAX_HEADER_BYTES);
  });

  it('reads 8-bit garbage without throwing', () => {
    const section = readHeaders(Buffer.from([0xff, 0xfe, 0x3a, 0x0d, 0x0a, 0x80, 0x3a, 0x20, 0x0d, 0x0a]));
    expect(section.fields.length).toBeLessThanOrEqual(2);
  });
});
