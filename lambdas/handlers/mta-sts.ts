/** Entry point of the `mta-sts` probe function: its own bundle, its own IAM role. */
import { createProbeHandler } from './probe.js';

export const handler = createProbeHandler('mta-sts');
