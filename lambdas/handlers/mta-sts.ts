/** Entry point of the `mta-sts` probe function: its own bundle (only the mta-sts check), its own IAM role. */
import { runMtaStsChecks } from '../engine/run/mta-sts.js';
import { createProbeHandler } from './probe.js';

// DNSSEC settings switch on the DANE verdict of every domain: the function's resolver and the
// IANA root anchors unless the shard brings its own.
export const handler = createProbeHandler('mta-sts', (specs, ctx, options) =>
  runMtaStsChecks(specs, { dnssec: {}, ...ctx }, options),
);
