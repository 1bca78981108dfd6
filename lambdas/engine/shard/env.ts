/**
 * Environment variables the stack sets on every probe function. Their own module, free
 * of imports, so the CDK app can use the names without loading the engine.
 */
export const ENV = {
  namespace: 'METRIC_NAMESPACE',
  alertTopicArn: 'ALERT_TOPIC_ARN',
  dashboardName: 'DASHBOARD_NAME',
  queryName: 'FAILED_CHECKS_QUERY_NAME',
  /** The DynamoDB table of probe state (lib/state-table.ts); unset: no state, no notifications. */
  stateTableName: 'STATE_TABLE_NAME',
  /** `chatbot`: change notifications in AWS Chatbot's custom-notification format; unset: text. */
  alertFormat: 'ALERT_FORMAT',
} as const;
