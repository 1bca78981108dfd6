/** Entry point of the `tls` probe function: its own bundle (only the tls check), its own IAM role. */
import { runTlsChecks } from '../engine/run/tls.js';
import { createProbeHandler } from './probe.js';

export const handler = createProbeHandler('tls', runTlsChecks);
