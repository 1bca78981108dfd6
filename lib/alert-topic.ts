/**
 * The one place alarms and change notifications go: an SNS topic encrypted with a
 * customer-managed KMS key (CloudWatch must be allowed to use the key, or alarm
 * notifications are silently dropped) that refuses publishers without TLS.
 */
import { Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlertTopicProps {
  /** E-mail addresses to subscribe; each receives a confirmation message first. @default - none */
  readonly emailSubscriptions?: readonly string[];
  /** HTTPS endpoints to subscribe (they must confirm the subscription). @default - none */
  readonly httpsSubscriptions?: readonly string[];
  /**
   * Use this topic instead of creating one. Its key policy (if encrypted) must allow
   * `cloudwatch.amazonaws.com` to use the key, and its access policy must let CloudWatch publish.
   * @default - a new KMS-encrypted topic
   */
  readonly existingTopic?: sns.ITopic;
}

export class AlertTopic extends Construct {
  readonly topic: sns.ITopic;
  /** The key of the topic this construct created; undefined with an existing topic. */
  readonly key?: kms.IKey;
  /** The alarm action (and OK action) that notifies the topic. */
  readonly alarmAction: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);

    if (props.existingTopic) {
      this.topic = props.existingTopic;
    } else {
      const key = new kms.Key(this, 'Key', {
        description: 'mailprobe: encrypts the alert topic',
        enableKeyRotation: true,
      });
      // CloudWatch alarms publish as the service; without this grant an encrypted topic drops them.
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchAlarms',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
      const topic = new sns.Topic(this, 'Topic', {
        displayName: 'mailprobe alerts',
        masterKey: key,
        enforceSSL: true,
      });
      // An explicit topic policy replaces SNS's default one, so CloudWatch needs its own statement.
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchAlarmsToPublish',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
          },
        }),
      );
      this.topic = topic;
      this.key = key;
    }

    for (const email of props.emailSubscriptions ?? []) this.topic.addSubscription(new subs.EmailSubscription(email));
    for (const url of props.httpsSubscriptions ?? []) {
      this.topic.addSubscription(new subs.UrlSubscription(url, { protocol: sns.SubscriptionProtocol.HTTPS }));
    }
    this.alarmAction = new actions.SnsAction(this.topic);
  }
}
