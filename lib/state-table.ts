/**
 * `StateTable`: the DynamoDB table where the probes keep their state between runs (the last
 * runs, the last notification, the facts change detection compares; lambdas/engine/state/).
 * On-demand (a few reads and writes per run: provisioning would cost more than it saves),
 * encrypted at rest with the AWS managed key, a TTL so targets removed from the config expire,
 * point-in-time recovery on by default, and kept when the stack is deleted. Or bring your own
 * table with the same key schema (partition key `pk`, a string).
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { STATE_TABLE } from '../lambdas/engine/state/table.js';

export interface StateTableProps {
  /**
   * Use this table instead of creating one (partition key `pk` of type string, no sort key;
   * enable TTL on `expiresAt` yourself). @default - a new table
   */
  readonly existingTable?: dynamodb.ITable;
  /**
   * Point-in-time recovery of the new table. The state is small (a few hundred bytes per
   * target), so it costs next to nothing. @default true
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * What happens to the new table when it leaves the stack. Kept by default: deleting it
   * loses every target's history, and the next runs announce their current state afresh.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class StateTable extends Construct {
  readonly table: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: StateTableProps = {}) {
    super(scope, id);
    if (props.existingTable) {
      if (props.pointInTimeRecovery !== undefined || props.removalPolicy !== undefined) {
        throw new Error(
          'StateTable: pointInTimeRecovery and removalPolicy apply to a new table only; configure them on existingTable itself',
        );
      }
      this.table = props.existingTable;
      return;
    }
    const pitr = props.pointInTimeRecovery ?? true;
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: STATE_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: STATE_TABLE.ttl,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: pitr },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    if (!pitr) {
      Validations.of(table).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason:
          'Point-in-time recovery turned off by the pointInTimeRecovery prop: the probe state can be rebuilt by the next runs.',
      });
    }
    this.table = table;
  }
}

/**
 * The item actions the state store uses (lambdas/engine/state/dynamodb.ts), on this table only,
 * and its key when it is encrypted with a customer key: what every function that keeps state gets.
 */
export function grantStateItems(role: iam.IRole, table: dynamodb.ITable, sid: string): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid, actions: [...STATE_TABLE.actions], resources: [table.tableArn] }),
  );
  table.encryptionKey?.grantEncryptDecrypt(role);
}
