/**
 * Environment of the TLS-RPT receiver functions, shared with lib/tlsrpt-receiver.ts.
 * Free of imports so the CDK app can use the names without loading the engine.
 */
export const TLSRPT_ENV = {
  bucket: 'TLSRPT_BUCKET',
  /** JSON: [{ "domain": "example.com", "name": "example", "mtaSts": true }] */
  domains: 'TLSRPT_DOMAINS',
  namespace: 'METRIC_NAMESPACE',
  alertTopicArn: 'ALERT_TOPIC_ARN',
} as const;
