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
  /** The probes' state table: daily counters (tlsrpt-day#…) and the mta-sts status read for corroboration. */
  stateTable: 'STATE_TABLE_NAME',
  /** JSON: the TlsRptLimits (lambdas/engine/tlsrpt/limits.ts); absent keys take the defaults. */
  limits: 'TLSRPT_LIMITS',
  /** JSON: DKIM signing domains whose authenticated reports page on their own. */
  trustedSubmitters: 'TLSRPT_TRUSTED_SUBMITTERS',
} as const;
