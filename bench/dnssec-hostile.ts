/**
 * DNSSEC under attack (issues #21, #25): CPU per hostile lookup for the KeyTrap shape (400
 * Ed25519 keys brute-forced onto one key tag, 300 bogus RRSIGs on the answer) and two NSEC3
 * shapes (150 iterations with a 255-byte salt; the 100-iteration ceiling with a 255-byte salt
 * and a 60-label name, with 300 signed NSEC3 records and with 3), then a healthy lookup's wall time alone and
 * beside hostile ones in the same process, as a shard runs them. Each query answers after a
 * 1 ms timer, so a synchronous validation that hogs the event loop shows in the neighbour.
 */
import { performance } from 'node:perf_hooks';
import { parseTrustAnchors } from '../lambdas/engine/dnssec/anchors.js';
import { Validator } from '../lambdas/engine/dnssec/validator.js';
import { TYPE } from '../lambdas/engine/dnssec/wire.js';
import { keysOnTag, message, rr, SignedZone } from '../testkit/dnssec-zone.js';

const RUNS = 5;
const DEADLINE_MS = 15_000;

function delayed(zone: SignedZone): SignedZone['query'] {
  return (name, type, timeoutMs) =>
    new Promise((resolve, reject) => setTimeout(() => zone.query(name, type, timeoutMs).then(resolve, reject), 1));
}

function validatorFor(zone: SignedZone): Validator {
  const started = performance.now();
  return new Validator({
    query: delayed(zone),
    anchors: parseTrustAnchors(zone.anchor),
    now: () => Math.floor(Date.now() / 1000),
    remainingMs: () => DEADLINE_MS - (performance.now() - started),
  });
}

function keyTrapZone(): { zone: SignedZone; name: string } {
  const zone = new SignedZone('keytrap.example');
  zone.setDnskeys(keysOnTag(zone.tag, 400));
  const name = 'mail.keytrap.example';
  const set = [rr(name, TYPE.A, Buffer.from([192, 0, 2, 1]))];
  zone.answers.set(`${TYPE.A}|${name}`, message({ answer: [...set, ...zone.bogusRrsigs(set, 300)] }));
  return { zone, name };
}

function nsec3Zone(iterations: number, labels: number, width: number): { zone: SignedZone; name: string } {
  const zone = new SignedZone('nsec3.example');
  const name = `${Array.from({ length: labels }, (_, i) => `l${i}`).join('.')}.nsec3.example`;
  const authority = zone.nsec3Answer(name, [TYPE.A, TYPE.RRSIG], iterations, Buffer.alloc(255, 0xab), width);
  // Every DS question on the way down gets the same costly answer, as a hostile zone would serve it.
  zone.answers.set(`${TYPE.A}|${name}`, message({ authority }));
  for (let i = 1; i <= labels; i += 1) {
    zone.answers.set(
      `${TYPE.DS}|${name
        .split('.')
        .slice(labels - i)
        .join('.')}`,
      message({ authority }),
    );
  }
  return { zone, name };
}

function healthyZone(): { zone: SignedZone; name: string } {
  const zone = new SignedZone('healthy.example');
  const name = 'mail.healthy.example';
  zone.answers.set(
    `${TYPE.A}|${name}`,
    message({ answer: zone.signedSet([rr(name, TYPE.A, Buffer.from([192, 0, 2, 7]))]) }),
  );
  return { zone, name };
}

async function cpuOf(
  shape: () => { zone: SignedZone; name: string },
): Promise<{ cpuMs: number; why: string; verifications: number; nsec3HashBlocks: number }> {
  const samples: number[] = [];
  let last = { why: '', verifications: 0, nsec3HashBlocks: 0 };
  for (let run = 0; run < RUNS; run += 1) {
    const { zone, name } = shape();
    const v = validatorFor(zone);
    const before = process.cpuUsage();
    const answer = await v.lookup(name, TYPE.A);
    const used = process.cpuUsage(before);
    samples.push((used.user + used.system) / 1000);
    last = { why: `${answer.status}: ${answer.why}`, ...v.work };
  }
  samples.sort((a, b) => a - b);
  return { cpuMs: Math.round((samples[Math.floor(samples.length / 2)] ?? NaN) * 10) / 10, ...last };
}

async function healthyMs(
  hostile: readonly (() => { zone: SignedZone; name: string })[],
): Promise<{ ms: number; status: string }> {
  const healthy = healthyZone();
  const others = hostile.map((shape) => shape()).map(({ zone, name }) => validatorFor(zone).lookup(name, TYPE.A));
  const started = performance.now();
  const answer = await validatorFor(healthy.zone).lookup(healthy.name, TYPE.A);
  const ms = performance.now() - started;
  await Promise.all(others);
  return { ms: Math.round(ms * 10) / 10, status: answer.status };
}

export async function run(): Promise<void> {
  const shapes = {
    keytrap: keyTrapZone,
    'nsec3-150-iterations': () => nsec3Zone(150, 60, 300),
    'nsec3-100-iterations-deep-wide': () => nsec3Zone(100, 60, 300),
    'nsec3-100-iterations-deep-narrow': () => nsec3Zone(100, 60, 3),
  };
  const cpu: Record<string, Awaited<ReturnType<typeof cpuOf>>> = {};
  for (const [label, shape] of Object.entries(shapes)) cpu[label] = await cpuOf(shape);
  const alone = await healthyMs([]);
  const beside = await healthyMs([shapes.keytrap, shapes.keytrap, shapes['nsec3-100-iterations-deep-wide']]);
  console.log(
    JSON.stringify({ cpuPerHostileLookup: cpu, healthyNeighbour: { alone, besideThreeHostile: beside } }, null, 2),
  );
  for (const [label, c] of Object.entries(cpu)) {
    console.log(
      `dnssec-hostile: ${label}: ${c.cpuMs} ms CPU per lookup (${c.verifications} verifications, ${c.nsec3HashBlocks} NSEC3 blocks) → ${c.why}`,
    );
  }
  console.log(
    `dnssec-hostile: healthy neighbour ${alone.ms} ms alone, ${beside.ms} ms beside 3 hostile lookups (${beside.status}); deadline ${DEADLINE_MS} ms`,
  );
}
