import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startTenantEmitter } from '../support/events';
import { startServer, type TestServer } from '../support/server';

const root = join(__dirname, '..', '..');

/** `npm run -s events -- --org ORG`, without npm in between so the signal reaches it. */
function startEventsCli(
  org: string,
  ...flags: string[]
): { child: ChildProcess; lines: string[]; stderr: () => string } {
  // What `npm run events` execs: node with the tsx loader, so the signal reaches the CLI itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'clients/events.ts', '--org', org, ...flags], {
    cwd: root,
    env: process.env, // AWS_ENDPOINT_URL and TOPIC_ARN of the run's moto override .local/endpoint.json
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, lines, stderr: () => err };
}

async function until(cond: () => boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('C36 npm run -s events', () => {
  let s: TestServer;
  let emitter: ReturnType<typeof startTenantEmitter>;
  beforeAll(async () => {
    s = await startServer('events-cli');
    emitter = startTenantEmitter([s.org]);
  });
  afterAll(async () => {
    await emitter?.stop();
    await s?.close();
  });

  test('C36: prints each notification as one JSON line (offloaded bodies fetched and parsed), cleans up on SIGTERM', async () => {
    const cli = startEventsCli(s.org, '--full');
    // Without --full, large data is shortened to its start and size.
    const brief = startEventsCli(s.org);
    try {
      await until(() => cli.stderr().includes('listening'), 'the CLI to subscribe');
      await until(() => brief.stderr().includes('listening'), 'the second CLI to subscribe');
      const small = await s.fetch('/Binary', {
        method: 'POST',
        body: 'hello',
        headers: { 'content-type': 'text/plain' },
      });
      const id = /\/Binary\/([^/]+)\/_history/.exec(small.headers.get('location')!)![1]!;
      expect((await s.fetch(`/Binary/${id}`, { method: 'DELETE' })).status).toBe(204);
      const big = new Uint8Array(300_000).fill(9); // over 256 KiB once base64: offloaded (C34)
      const res = await s.fetch('/Binary', {
        method: 'POST',
        body: big,
        headers: { 'content-type': 'application/octet-stream' },
      });
      const bigId = /\/Binary\/([^/]+)\/_history/.exec(res.headers.get('location')!)![1]!;

      await until(() => cli.lines.length >= 3, 'three lines');
      const parsed = cli.lines.map(
        (l) => JSON.parse(l) as { attributes: Record<string, string>; body: unknown },
      );
      const byKey = (rid: string, vid: string) =>
        parsed.find((p) => p.attributes.resourceId === rid && p.attributes.versionId === vid);
      expect(byKey(id, '1')).toMatchObject({
        attributes: { action: 'CreateResource', organizationId: s.org, payloadType: 'FullResource' },
        body: { resourceType: 'Binary', id, contentType: 'text/plain', data: 'aGVsbG8=' },
      });
      expect(byKey(id, '2')).toMatchObject({
        attributes: { action: 'DeleteResource', payloadType: 'NameOnly' },
        body: `Binary/${id}`,
      });
      const offloaded = byKey(bigId, '1')!;
      expect(offloaded.attributes.ExtendedPayloadSize).toBeDefined();
      expect((offloaded.body as { data: string }).data).toBe(Buffer.from(big).toString('base64'));
      expect(Object.keys(parsed[0]!)).toEqual(['attributes', 'body']);

      await until(() => brief.lines.length >= 3, 'three lines without --full');
      const briefly = brief.lines.map(
        (l) => JSON.parse(l) as { attributes: Record<string, string>; body: unknown },
      );
      const small2 = briefly.find((p) => p.attributes.resourceId === id && p.attributes.versionId === '1');
      expect(small2?.body).toMatchObject({ data: 'aGVsbG8=' }); // small data stays whole
      const big2 = briefly.find((p) => p.attributes.resourceId === bigId)!;
      expect(big2.body).toMatchObject({
        resourceType: 'Binary',
        id: bigId,
        data: `${Buffer.from(big).toString('base64').slice(0, 40)}…(300000 bytes; --full prints all)`,
      });
      expect(brief.lines.find((l) => l.includes(bigId))!.length).toBeLessThan(2000);
    } finally {
      const briefExit = new Promise<number | null>((r) => brief.child.once('exit', (code) => r(code)));
      brief.child.kill('SIGTERM');
      expect(await briefExit).toBe(0);
      const exited = new Promise<number | null>((r) => cli.child.once('exit', (code) => r(code)));
      cli.child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    // Its queue (and with it the subscription) is gone.
    const sqs = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL, region: 'us-east-1' });
    const queues = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'events-cli-' }));
    expect(queues.QueueUrls ?? []).toEqual([]);
    sqs.destroy();
  }, 60_000);
});
