/**
 * AWS list prices used by the cost model: us-east-1, on-demand, no free tier, as published
 * on the services' pricing pages (checked 2026-12-01). Named so the README and
 * `mailprobe cost` quote the same figures; change them here when AWS does.
 */
export const PRICES_REGION = 'us-east-1';
export const PRICES_CHECKED = '2026-12-01';

export const PRICES = {
  /** CloudWatch custom metric, first 10,000 metrics, per metric-month; prorated by the hours with data. */
  customMetricMonth: 0.3,
  /** Standard-resolution alarm, per alarm metric-month; a Metrics Insights alarm pays this per metric analyzed. */
  alarmMetricMonth: 0.1,
  /** PutMetricData (and other API requests), per 1,000 requests. */
  apiRequestsPer1000: 0.01,
  /** GetMetricData, per 1,000 metrics requested. */
  getMetricDataPer1000Metrics: 0.01,
  /** Custom dashboard, per month (3 dashboards of up to 50 metrics are free; not counted). */
  dashboardMonth: 3.0,
  /** CloudWatch Logs standard ingestion, per GB. */
  logIngestionPerGb: 0.5,
  /** CloudWatch Logs Insights, per GB of log data scanned. */
  logsInsightsPerGbScanned: 0.005,
  /** CloudWatch Logs storage, per GB-month. */
  logStoragePerGbMonth: 0.03,
  /** Lambda on arm64, per GB-second. */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda requests, per million. */
  lambdaRequestsPerMillion: 0.2,
  /** EventBridge Scheduler invocations, per million (14 million a month are free; not counted). */
  schedulerPerMillion: 1.0,
  /** DynamoDB on-demand write request units, per million. */
  dynamoWritePerMillion: 0.625,
  /** DynamoDB on-demand read request units, per million. */
  dynamoReadPerMillion: 0.125,
  /** KMS customer managed key, per month (the alert topic's key). */
  kmsKeyMonth: 1.0,
  /** KMS requests, per 10,000. */
  kmsRequestsPer10000: 0.03,
} as const;

/** Hours in the month AWS bills custom metrics by (730 = 8,760 / 12). */
export const HOURS_PER_MONTH = 730;
