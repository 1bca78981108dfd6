/**
 * The ready-made stack of `bin/app.ts`: the config file's plan, its optional VPC
 * (imported by ID, so synth needs no AWS lookup), and `MailProbes`.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { Plan } from './config/plan.js';
import { MailProbes, type MailProbesProps } from './mail-probes.js';

export interface MailProbeStackProps extends StackProps {
  readonly plan: Plan;
  /** Passed to MailProbes. @default - each handler bundled with esbuild */
  readonly code?: MailProbesProps['code'];
}

export class MailProbeStack extends Stack {
  readonly probes: MailProbes;

  constructor(scope: Construct, id: string, props: MailProbeStackProps) {
    super(scope, id, props);
    const { plan } = props;
    let network: Partial<MailProbesNetwork> = {};
    if (plan.vpc) {
      const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: plan.vpc.vpcId,
        // The subnets are given explicitly, so the AZs are not used for selection.
        availabilityZones: this.availabilityZones,
      });
      network = {
        vpc,
        vpcSubnets: { subnets: plan.vpc.subnetIds.map((id, i) => ec2.Subnet.fromSubnetId(this, `Subnet${i}`, id)) },
        ...(plan.vpc.securityGroupIds
          ? {
              securityGroups: plan.vpc.securityGroupIds.map((id, i) =>
                ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, id),
              ),
            }
          : {}),
      };
    }
    this.probes = new MailProbes(this, 'MailProbes', { plan, ...network, ...(props.code ? { code: props.code } : {}) });

    // What on-call needs after `cdk deploy`: where to subscribe and where to look.
    new CfnOutput(this, 'AlertTopicArn', {
      value: this.probes.alertTopic.topicArn,
      description: 'Subscribe on-call here (aws sns subscribe --protocol email|https|sms …)',
    });
    const dashboard = this.probes.dashboard.dashboard;
    if (dashboard) {
      new CfnOutput(this, 'DashboardUrl', {
        value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${dashboard.dashboardName}`,
        description: 'The mailprobe CloudWatch dashboard',
      });
    }
    new CfnOutput(this, 'StateTableName', {
      value: this.probes.stateTable.tableName,
      description: 'DynamoDB table of probe state: alert history and the facts change detection compares',
    });
    new CfnOutput(this, 'FailedChecksQuery', {
      value: this.probes.dashboard.queryName,
      description: 'Saved CloudWatch Logs Insights query: failed checks by findings code',
    });
  }
}

interface MailProbesNetwork {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups: readonly ec2.ISecurityGroup[];
}
