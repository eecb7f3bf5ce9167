import type { IAspect } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/** Days CloudWatch Logs accepts as a retention (the values of `logs.RetentionDays`). */
export const RETENTION_DAYS = Object.values(logs.RetentionDays).filter(
  (v): v is number => typeof v === 'number',
);

/** A retention in days from a context value, or a clear error naming the accepted values. */
export function retentionDays(raw: string | number): logs.RetentionDays {
  const n = Number(raw);
  if (!RETENTION_DAYS.includes(n))
    throw new Error(
      `logRetentionDays must be one of CloudWatch Logs' retentions (${RETENTION_DAYS.join(', ')}), got "${raw}"`,
    );
  return n as logs.RetentionDays;
}

/**
 * One retention for every log group of the stack (#14 item 8): the functions' logs hold the audit
 * lines (C38) and the API's access log the requests, so they follow the deployment's audit policy
 * (HIPAA deployments commonly keep 6 years, `RetentionDays.SIX_YEARS`). An aspect, so that log
 * groups added by any construct, now or later, get it too; `INFINITE` leaves retention unset.
 */
export class LogRetention implements IAspect {
  constructor(private readonly days: logs.RetentionDays) {}

  visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup)
      node.retentionInDays = this.days === logs.RetentionDays.INFINITE ? undefined : this.days;
  }
}
