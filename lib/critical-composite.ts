/**
 * One composite alarm per deployment, "any mailprobe critical alarm is in ALARM", for a
 * pager: the critical alarms keep notifying the alert topic with the details, and the pager
 * gets one page, cleared when the last of them recovers.
 *
 * PutCompositeAlarm takes at most 100 alarms and 10,240 characters per rule
 * (CloudWatch API reference, PutCompositeAlarm / AlarmRule). More children than fit are split
 * into part composites, and the top composite ORs the parts: up to 100 × 100 alarms, far more
 * than a CloudFormation stack (500 resources) can hold.
 */
import { Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

/** PutCompositeAlarm: "The rule expression … can include as many as 100 underlying alarms." */
export const COMPOSITE_MAX_CHILDREN = 100;
/** PutCompositeAlarm: AlarmRule is at most 10,240 characters. */
export const COMPOSITE_MAX_RULE_CHARS = 10_240;
/** CloudWatch alarm names are at most 255 characters: the length assumed for a name known only at deploy time. */
const ALARM_NAME_MAX_CHARS = 255;
const OR = ' OR ';

export interface CriticalCompositeAlarmProps {
  /** The alarms that page. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** The composite is `<prefix>-AnyCritical`, its parts `<prefix>-AnyCritical-part<N>`. */
  readonly alarmNamePrefix: string;
  /** Alarm and OK actions of the top composite (the pager). @default - none */
  readonly actions?: readonly cloudwatch.IAlarmAction[];
  /** Where on-call looks next, quoted in the description. @default - not mentioned */
  readonly dashboardName?: string;
  /**
   * The critical alarms covered in all, when some of `alarms` are themselves composites (an
   * alarm stack's, see probe-alarms.ts), for the description. @default - `alarms.length`
   */
  readonly coveredAlarms?: number;
  /** Which alarms those are, for the description. @default - '(target Success, TargetsReporting, probe function Errors)' */
  readonly coveredKinds?: string;
}

export class CriticalCompositeAlarm extends Construct {
  /** The composite to page on (its parts, when there are any, have no actions). */
  readonly alarm: cloudwatch.CompositeAlarm;
  /** Part composites, when the children did not fit one rule. */
  readonly parts: readonly cloudwatch.CompositeAlarm[];

  constructor(scope: Construct, id: string, props: CriticalCompositeAlarmProps) {
    super(scope, id);
    if (props.alarms.length === 0) {
      throw new Error(`CriticalCompositeAlarm ${this.node.path}: no critical alarms to watch`);
    }
    const name = `${props.alarmNamePrefix}-AnyCritical`;
    const children = props.alarms.map((alarm) => ({ alarm, term: termOf(alarm) }));
    const groups = packRules(children.map((c) => lengthOf(c.term)));
    if (groups.length > COMPOSITE_MAX_CHILDREN) {
      throw new Error(
        `CriticalCompositeAlarm ${this.node.path}: ${props.alarms.length} critical alarms need ${groups.length} part composites, more than the ${COMPOSITE_MAX_CHILDREN} one composite can watch; use alarms.mode fleet so that alarms are few`,
      );
    }
    const where = props.dashboardName ? ` (dashboard ${props.dashboardName})` : '';

    const parts =
      groups.length === 1
        ? []
        : groups.map((group, i) =>
            this.composite(`Part${i + 1}`, {
              name: `${name}-part${i + 1}`,
              children: group.map((j) => children[j]!),
              description:
                `mailprobe: part ${i + 1} of ${groups.length} of ${name} (${group.length} critical alarms; ` +
                `CloudWatch allows ${COMPOSITE_MAX_CHILDREN} per composite). No actions: ${name} pages.`,
            }),
          );
    const top = (parts.length > 0 ? parts : props.alarms).map((alarm) => ({ alarm, term: termOf(alarm) }));
    this.alarm = this.composite('AnyCritical', {
      name,
      children: top,
      description:
        ((props.coveredAlarms ?? props.alarms.length) === 1
          ? 'mailprobe: the critical mailprobe alarm is in ALARM. '
          : `mailprobe: one or more of the ${props.coveredAlarms ?? props.alarms.length} critical mailprobe alarms ` +
            `${props.coveredKinds ?? '(target Success, TargetsReporting, probe function Errors)'} are in ALARM. `) +
        `Meaning: mail to or through a monitored endpoint may be failing, or a probe stopped. ` +
        `Action: the alert topic has the alarm's own message and the probe's notification with findings and hints; ` +
        `the alarm status widget${where} lists which alarms fire.`,
    });
    for (const action of props.actions ?? []) {
      this.alarm.addAlarmAction(action);
      // The pager hears the recovery too.
      this.alarm.addOkAction(action);
    }
    this.parts = parts;
  }

  private composite(
    id: string,
    o: { name: string; children: readonly { alarm: cloudwatch.IAlarm; term: string }[]; description: string },
  ): cloudwatch.CompositeAlarm {
    const alarm = new cloudwatch.CompositeAlarm(this, id, {
      compositeAlarmName: o.name,
      alarmDescription: o.description,
      alarmRule: cloudwatch.AlarmRule.fromString(o.children.map((c) => c.term).join(OR)),
    });
    // The rule names its children: CloudFormation must create them first.
    for (const c of o.children) alarm.node.addDependency(c.alarm);
    return alarm;
  }
}

/**
 * `ALARM("<name>")`. By name rather than ARN, so the rule's length is known at synth
 * (an ARN holds the account and region, tokens until deploy).
 */
function termOf(alarm: cloudwatch.IAlarm): string {
  return `ALARM("${nameOf(alarm)}")`;
}

function nameOf(alarm: cloudwatch.IAlarm): string {
  const cfn = alarm.node.defaultChild;
  if (cfn instanceof cloudwatch.CfnAlarm && cfn.alarmName !== undefined) return cfn.alarmName;
  if (cfn instanceof cloudwatch.CfnCompositeAlarm && cfn.alarmName !== undefined) return cfn.alarmName;
  return alarm.alarmName;
}

/** Characters a term takes at most once deployed (a name that is a token counts as the longest name). */
function lengthOf(term: string): number {
  return Token.isUnresolved(term) ? 'ALARM("")'.length + ALARM_NAME_MAX_CHARS : term.length;
}

/**
 * Indexes of terms packed in order into rules of at most COMPOSITE_MAX_CHILDREN terms and
 * COMPOSITE_MAX_RULE_CHARS characters (terms joined by " OR ").
 */
export function packRules(termLengths: readonly number[]): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  let chars = 0;
  termLengths.forEach((length, i) => {
    const added = (current.length === 0 ? 0 : OR.length) + length;
    if (current.length > 0 && (current.length >= COMPOSITE_MAX_CHILDREN || chars + added > COMPOSITE_MAX_RULE_CHARS)) {
      groups.push(current);
      current = [];
      chars = 0;
    }
    chars += current.length === 0 ? length : OR.length + length;
    current.push(i);
  });
  if (current.length > 0) groups.push(current);
  return groups;
}
