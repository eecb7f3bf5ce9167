import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import cdkJson from '../../cdk.json';
import type { ServiceFunction } from '../../infra/service-function';

/**
 * An app with the context of cdk.json, but without asset bundling: the tests check the template,
 * `npm run synth` (run by .ci/run) checks that every function bundles.
 */
export function testApp(): App {
  return new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
}

export const logicalIdOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Every IAM statement attached to the function's role, with its actions as an array. */
export function statementsOf(
  template: Template,
  f: ServiceFunction,
): { actions: string[]; resource: string }[] {
  const role = logicalIdOf(f.fn.role!);
  const policies = template.findResources('AWS::IAM::Policy');
  const out: { actions: string[]; resource: string }[] = [];
  for (const p of Object.values(policies)) {
    const roles = (p.Properties.Roles ?? []) as { Ref: string }[];
    if (!roles.some((r) => r.Ref === role)) continue;
    for (const s of p.Properties.PolicyDocument.Statement as Statement[]) {
      if (s.Effect !== 'Allow') continue;
      out.push({
        actions: Array.isArray(s.Action) ? s.Action : [s.Action],
        resource: JSON.stringify(s.Resource),
      });
    }
  }
  return out;
}

export const actionsOf = (template: Template, f: ServiceFunction) =>
  new Set(statementsOf(template, f).flatMap((s) => s.actions));

/** Write actions on the table (TransactWriteItems is authorized by these per item). */
export const TABLE_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:*',
];
export const TABLE_READS = ['dynamodb:GetItem', 'dynamodb:Query'];
export const BUCKET_WRITES = ['s3:PutObject', 's3:DeleteObject', 's3:*'];
