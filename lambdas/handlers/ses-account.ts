/** Entry point of the `ses-account` probe function: its own bundle, its own IAM role. */
import { createProbeHandler } from './probe.js';

export const handler = createProbeHandler('ses-account');
