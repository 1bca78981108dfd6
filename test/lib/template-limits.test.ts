/**
 * CloudFormation's per-template quotas on measured templates (issue #20): each quota
 * breached is one line naming the stack, the figure, the limit and the fix.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../lib/config/load.js';
import { planConfig } from '../../lib/config/plan.js';
import {
  CFN_MAX_OUTPUTS,
  CFN_MAX_PARAMETERS,
  CFN_MAX_TEMPLATE_BYTES,
  synthSizes,
  templateLimitProblems,
  type StackSize,
} from '../../lib/template-limits.js';

const fits: StackSize = { stack: 'S', bytes: CFN_MAX_TEMPLATE_BYTES, resources: 500, outputs: 200, parameters: 200 };

describe('templateLimitProblems', () => {
  it('accepts a template at every limit', () => {
    expect(templateLimitProblems([fits])).toEqual([]);
  });

  it('names each quota a template exceeds, with the fix', () => {
    const over = templateLimitProblems([
      fits,
      {
        stack: 'Big',
        bytes: CFN_MAX_TEMPLATE_BYTES + 1,
        resources: 501,
        outputs: CFN_MAX_OUTPUTS + 1,
        parameters: CFN_MAX_PARAMETERS + 1,
      },
    ]);
    expect(over).toHaveLength(4);
    expect(over[0]).toMatch(/^stack Big: the template is 1000001 bytes, more than the 1000000 .*split the targets/);
    expect(over[1]).toMatch(/^stack Big: 501 resources, more than the 500 .*alarms.mode to fleet/);
    expect(over[2]).toMatch(/^stack Big: 201 outputs/);
    expect(over[3]).toMatch(/^stack Big: 201 parameters/);
  });
});

describe('synthSizes', () => {
  it('measures the minified template of the stack bin/app.ts makes, offline', () => {
    const plan = planConfig(validateConfig({ targets: [{ name: 'relay', host: 'smtp.example.com', port: 587 }] }));
    const [size, ...rest] = synthSizes(plan, 'Sized');
    expect(rest).toEqual([]);
    expect(size!.stack).toBe('Sized');
    expect(size!.bytes).toBeGreaterThan(10_000);
    expect(size!.bytes).toBeLessThan(CFN_MAX_TEMPLATE_BYTES);
    expect(size!.resources).toBeGreaterThan(10);
    expect(templateLimitProblems([size!])).toEqual([]);
  }, 120_000);
});
