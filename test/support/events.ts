import { randomUUID } from 'node:crypto';
import type { DynamoDBRecord } from 'aws-lambda';
import { type ReceivedNotification, type Subscriber, subscribe } from '../../clients/subscriber';
import { keys } from '../../functions/adapters/dynamo-schema';
import { handler as emitter } from '../../functions/handlers/emitter';
import { type StreamHandler, type StreamPoller, startStreamPoller } from '../../local/stream-poller';

/** Stream records of these tenants' items only (Lambda event filtering, locally). */
export const onlyOrgs =
  (...orgs: string[]) =>
  (r: DynamoDBRecord) =>
    orgs.some((org) => r.dynamodb?.Keys?.pk?.S?.startsWith(keys.tenantResources(org)));

/**
 * The emitter driven from the run's shared stream for the given tenants only, so that test files
 * running side by side never publish each other's notifications. Each call gets its own
 * checkpoint name unless one is given (a restart passes the name of the poller it replaces).
 */
export function startTenantEmitter(
  orgs: string[],
  o: { handler?: StreamHandler; name?: string } = {},
): StreamPoller & { name: string } {
  const name = o.name ?? `test-${randomUUID().slice(0, 8)}`;
  const poller = startStreamPoller({
    handler: o.handler ?? emitter,
    name,
    filter: onlyOrgs(...orgs),
    batchSize: 1000,
    idleMs: 50,
  });
  return Object.assign(poller, { name });
}

/** An SQS queue subscribed to the topic, with a filter policy on organizationId when `org` is given. */
export function subscribeTopic(org?: string): Promise<Subscriber> {
  return subscribe({
    endpoint: process.env.AWS_ENDPOINT_URL,
    topicArn: process.env.TOPIC_ARN!,
    ...(org ? { org } : {}),
    name: 'test-events',
  });
}

/** Receives until `done(all received)` holds or the time is up; returns everything received. */
export async function receiveUntil(
  sub: Subscriber,
  done: (all: ReceivedNotification[]) => boolean,
  timeoutMs = 20_000,
): Promise<ReceivedNotification[]> {
  const all: ReceivedNotification[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(all) && Date.now() < deadline) all.push(...(await sub.receive(1)));
  return all;
}
