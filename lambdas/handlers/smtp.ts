/** Entry point of the `smtp` probe function: its own bundle, its own IAM role. */
import { createProbeHandler } from './probe.js';

export const handler = createProbeHandler('smtp');
