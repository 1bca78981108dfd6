/** Entry point of the `smtp` probe function: its own bundle (only the smtp check), its own IAM role. */
import { runSmtpChecks } from '../engine/run/smtp.js';
import { createProbeHandler } from './probe.js';

export const handler = createProbeHandler('smtp', runSmtpChecks);
