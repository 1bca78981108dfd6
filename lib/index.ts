/** The public API for users' own CDK apps. */
export { MailProbes, PORT_25_WARNING, type MailProbesConfig, type MailProbesProps } from './mail-probes.js';
export { MailProbeStack, type MailProbeStackProps } from './mail-probe-stack.js';
export { AlertTopic, type AlertTopicProps } from './alert-topic.js';
export { ProbeFunction, prebundledHandlerDir, type ProbeFunctionProps } from './probe-function.js';
export { ProbeAlarms, type AlarmSeverity, type ProbeAlarmsProps } from './probe-alarms.js';
export {
  CriticalCompositeAlarm,
  COMPOSITE_MAX_CHILDREN,
  COMPOSITE_MAX_RULE_CHARS,
  type CriticalCompositeAlarmProps,
} from './critical-composite.js';
export {
  ProbeDashboard,
  DashboardLimitError,
  FAILED_CHECKS_QUERY,
  probeWidgets,
  type ProbeDashboardProps,
} from './probe-dashboard.js';
export { probeMetric, kindMetric, insightsQuery, type ProbeMetricOptions } from './probe-metrics.js';
export { loadConfig, parseConfigText, validateConfig, ConfigError } from './config/load.js';
export {
  planConfig,
  planSpecs,
  PlanError,
  type AlarmGroup,
  type AlarmMode,
  type Plan,
  type PlannedTarget,
  type PlanOptions,
  type ReportingGroup,
  type ShardEvent,
} from './config/plan.js';
export { summarizePlan, type PlanSummary } from './config/summary.js';
export { estimateCost, type CostEstimate } from './cost/model.js';
export { ConfigSchema, type MailProbeConfig } from './config/schema.js';
export { FlowProbes, TOKEN_KEY_LENGTH, type FlowProbesProps } from './flow-probes.js';
export { FlowMonitoring, type FlowMonitoringProps } from './flow-monitoring.js';
export { FlowReceiver, FLOW_MESSAGE_RETENTION_DAYS, type FlowReceiverProps } from './flow-receiver.js';
export { planFlows, type FlowPlan, type PlannedFlow, type FlowSesReceiving } from './config/flow-plan.js';
export { withFlowCosts, flowTargetCosts } from './cost/flow.js';
