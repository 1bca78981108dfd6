/** Entry point of the `tls` probe function: its own bundle, its own IAM role. */
import { runChecks } from '../engine/run.js';
import { createProbeHandler } from './probe.js';

export const handler = createProbeHandler('tls', runChecks);
