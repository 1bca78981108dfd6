/** DNS answers in wire format for the parser and validator tests, built with dns-packet. */
import dnsPacket from 'dns-packet';

/** An EDE option (RFC 8914): INFO-CODE then EXTRA-TEXT. */
export function edeOption(code: number, text: string | Buffer = ''): { code: number; data: Buffer } {
  return {
    code: 15,
    data: Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.isBuffer(text) ? text : Buffer.from(text)]),
  };
}

/** A SERVFAIL answer to `name`/`type` whose OPT record carries `options` (with the DO bit). */
export function servfailWith(name: string, type: string, options: readonly { code: number; data: Buffer }[]): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 0,
    flags: 0x8182,
    questions: [{ type: type as dnsPacket.RecordType, name: name || '.' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        flags: 0x8000,
        extendedRcode: 0,
        ednsVersion: 0,
        flag_do: true,
        options: options as never,
      },
    ],
  });
}
