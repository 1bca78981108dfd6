/** Entry point of the `ses-account` probe function: its own bundle (only the SES API check), its own IAM role. */
import { runSesAccountChecks } from '../engine/run/ses-account.js';
import { createProbeHandler } from './probe.js';

export const handler = createProbeHandler('ses-account', runSesAccountChecks);
