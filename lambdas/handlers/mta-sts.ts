/** Entry point of the `mta-sts` probe function: its own bundle (only the mta-sts check), its own IAM role. */
import { runMtaStsChecks } from '../engine/run/mta-sts.js';
import { createProbeHandler } from './probe.js';

export const handler = createProbeHandler('mta-sts', runMtaStsChecks);
