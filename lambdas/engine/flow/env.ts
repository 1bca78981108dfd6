/**
 * Environment variables of the flow function and the flow receiver (lib/flow-probes.ts and
 * lib/flow-receiver.ts set them). Free of imports, like shard/env.ts, so the CDK app can use
 * the names without loading the engine.
 */
export const FLOW_ENV = {
  /** The Secrets Manager ARN of the deployment's token key (token.ts). */
  keySecretArn: 'FLOW_KEY_SECRET_ARN',
  /** The receiver only: the bucket the receipt rule's S3 action writes to. */
  bucket: 'FLOW_BUCKET',
} as const;
