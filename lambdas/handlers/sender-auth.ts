/** Entry point of the `sender-auth` probe function: its own bundle (DNS only: SPF, DMARC, DKIM keys, MX), its own IAM role. */
import { runSenderAuthChecks } from '../engine/run/sender-auth.js';
import { createProbeHandler } from './probe.js';

export const handler = createProbeHandler('sender-auth', runSenderAuthChecks);
