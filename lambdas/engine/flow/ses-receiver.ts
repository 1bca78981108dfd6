/**
 * What the SES receiver Lambda does with a receipt event: read each message from S3 (capped),
 * verify its token, and log the arrival with SES's verdicts in the flow's log, where the
 * next flow run settles it. A message without a valid token (spam to the flow address, a
 * forgery) is counted and otherwise ignored.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StateStore } from '../state/types.js';
import { MAX_LOGGED_HOPS, type LoggedArrival } from '../state/flow-facts.js';
import { updateFlowLog } from './log-store.js';
import { readReceiptEvent, readSesArrival, type ObjectGetter } from './ses-event.js';

export interface ReceiverDeps {
  readonly key: Buffer;
  readonly store: StateStore;
  readonly getObject: ObjectGetter;
  readonly now: () => number;
}

export interface ReceiverOutcome {
  readonly messageId: string;
  readonly outcome: 'logged' | 'ignored' | 'too-large';
  readonly flow?: string;
}

/** Reads an S3 object body up to `maxBytes`; the rest is not downloaded. */
export function s3ObjectGetter(s3: S3Client, bucket: string): ObjectGetter {
  return async (key, maxBytes) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${maxBytes}` }));
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of object.Body as AsyncIterable<Uint8Array>) {
      chunks.push(Buffer.from(chunk));
      size += chunk.length;
      if (size > maxBytes) break;
    }
    const body = Buffer.concat(chunks);
    return { body: body.subarray(0, maxBytes), truncated: body.length > maxBytes };
  };
}

export async function receiveFlowMail(event: unknown, deps: ReceiverDeps): Promise<ReceiverOutcome[]> {
  const outcomes: ReceiverOutcome[] = [];
  for (const receipt of readReceiptEvent(event)) {
    const arrival = await readSesArrival(receipt, deps.key, deps.getObject);
    if (arrival === undefined) {
      outcomes.push({ messageId: receipt.messageId, outcome: 'ignored' });
      continue;
    }
    if (arrival.truncated === true) {
      // A flow message is small; a huge one with a valid token is still an arrival, but its
      // body (and DKIM over it) was not read in full.
      outcomes.push({ messageId: receipt.messageId, outcome: 'too-large', flow: arrival.flow });
    }
    const logged = {
      ...arrival,
      hops: arrival.hops.slice(-MAX_LOGGED_HOPS),
      receiverResults: arrival.receiverResults.slice(0, 1),
    } as unknown as LoggedArrival;
    await updateFlowLog(deps.store, arrival.flow, deps.now(), (log) => ({
      log: log.arrivals.some((a) => a.token === arrival.token) ? log : { ...log, arrivals: [...log.arrivals, logged] },
      value: undefined,
    }));
    if (arrival.truncated !== true)
      outcomes.push({ messageId: receipt.messageId, outcome: 'logged', flow: arrival.flow });
  }
  return outcomes;
}
