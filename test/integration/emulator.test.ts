import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { MOTO_VERSION } from '../../local/moto';
import { provisionTable } from '../../local/provision';
import { createRaw } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

/**
 * #11: the local emulator is as faithful as the service needs (local/moto_serial.py), and
 * `npm start` / `npm test` set it up themselves (local/moto.ts).
 */
const endpoint = () => process.env.AWS_ENDPOINT_URL!;
const common = () => ({ endpoint: endpoint(), region: 'us-east-1' });

describe('#11 transactions touch only their own items (no whole-table copy)', () => {
  let table: string;
  let ddb: DynamoDBDocumentClient;
  let streams: DynamoDBStreamsClient;
  let streamArn: string;
  beforeAll(async () => {
    table = `tx-${randomUUID()}`;
    streamArn = await provisionTable(endpoint(), table);
    ddb = DynamoDBDocumentClient.from(new DynamoDBClient(common()));
    streams = new DynamoDBStreamsClient(common());
  });
  afterAll(() => {
    ddb.destroy();
    streams.destroy();
  });

  async function streamRecords() {
    const desc = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const out = [];
    for (const shard of desc.StreamDescription?.Shards ?? []) {
      let it = (
        await streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shard.ShardId!,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
        )
      ).ShardIterator;
      while (it) {
        const r = await streams.send(new GetRecordsCommand({ ShardIterator: it }));
        out.push(...(r.Records ?? []));
        if ((r.Records ?? []).length === 0) break;
        it = r.NextShardIterator;
      }
    }
    return out.map((r) => `${r.eventName} ${r.dynamodb?.Keys?.pk?.S} ${r.dynamodb?.Keys?.sk?.S}`);
  }
  const get = async (pk: string, sk: string) =>
    (await ddb.send(new GetCommand({ TableName: table, Key: { pk, sk }, ConsistentRead: true }))).Item;

  test('a cancelled transaction changes nothing, streams nothing, and names the failed condition', async () => {
    await ddb.send(new PutCommand({ TableName: table, Item: { pk: 'a', sk: 'HEAD', vid: 1 } }));
    const before = await streamRecords();
    const err = await ddb
      .send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table,
                Item: { pk: 'a', sk: 'V2' },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: table,
                Item: { pk: 'a', sk: 'HEAD', vid: 2 },
                ConditionExpression: 'vid = :v',
                ExpressionAttributeValues: { ':v': 7 },
              },
            },
          ],
        }),
      )
      .catch((e: Error & { CancellationReasons?: { Code?: string }[] }) => e);
    expect((err as Error).name).toBe('TransactionCanceledException');
    expect(
      (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons?.map((r) => r.Code),
    ).toEqual(['None', 'ConditionalCheckFailed']);
    expect(await get('a', 'V2')).toBeUndefined();
    expect(await get('a', 'HEAD')).toMatchObject({ vid: 1 });
    expect(await streamRecords()).toEqual(before);
  });

  test('a transaction that fails while applying puts back what it had applied and its stream records', async () => {
    await ddb.send(
      new PutCommand({ TableName: table, Item: { pk: 'b', sk: 'HEAD', n: 'not a number', keep: 1 } }),
    );
    const before = await streamRecords();
    // The update's type error is only found while applying, after the put was applied.
    const err = await ddb
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table, Item: { pk: 'b', sk: 'V1', x: 1 } } },
            {
              Update: {
                TableName: table,
                Key: { pk: 'b', sk: 'HEAD' },
                UpdateExpression: 'SET n = n + :one, keep = :two',
                ExpressionAttributeValues: { ':one': 1, ':two': 2 },
              },
            },
          ],
        }),
      )
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await get('b', 'V1')).toBeUndefined();
    expect(await get('b', 'HEAD')).toEqual({ pk: 'b', sk: 'HEAD', n: 'not a number', keep: 1 });
    expect(await streamRecords()).toEqual(before);
  });

  test('a committed transaction streams one record per item, in order', async () => {
    const before = await streamRecords();
    await ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: table,
              Item: { pk: 'c', sk: 'V1' },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: table,
              Item: { pk: 'c', sk: 'HEAD', vid: 1 },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Delete: {
              TableName: table,
              Key: { pk: 'a', sk: 'HEAD' },
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
        ],
      }),
    );
    expect((await streamRecords()).slice(before.length)).toEqual([
      'INSERT c V1',
      'INSERT c HEAD',
      'REMOVE a HEAD',
    ]);
  });
});

describe('C11: raw bodies of every content type are stored byte for byte', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer('emu');
  });
  afterAll(() => s.close());

  const cases: [string, Buffer][] = [
    ['application/x-www-form-urlencoded', Buffer.from('a=1&b=%20two&c')],
    [
      'multipart/form-data; boundary=XyZ',
      Buffer.from(
        '--XyZ\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\n\r\nhello\r\n--XyZ--\r\n',
      ),
    ],
    ['text/plain; charset=utf-8', Buffer.from('plain ✓')],
    ['application/octet-stream', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256))],
  ];
  test.each(cases)('C11: %s round-trips', async (contentType, body) => {
    const id = await createRaw(s, body, contentType);
    const res = await s.fetch(`/Binary/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(contentType);
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
  });

  test('the emulator itself keeps a form-typed PUT body (as S3 does)', async () => {
    const s3 = new S3Client({ ...common(), forcePathStyle: true });
    const bucket = `emu-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const body = Buffer.from('x=1&y=2');
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'k',
        Body: body,
        ContentType: 'application/x-www-form-urlencoded',
      }),
    );
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
    expect(Buffer.from(await out.Body!.transformToByteArray()).equals(body)).toBe(true);
    s3.destroy();
  });
});

describe('#11 npm start / npm test set up the pinned emulator themselves', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const check = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'local/check-moto.ts'], {
      env: { ...process.env, AWS_ENDPOINT_URL: '', MOTO_PYTHON: '', ...env },
      encoding: 'utf8',
    });

  test('without Python 3 the message says to install it', () => {
    const venv = mkdtempSync(join(tmpdir(), 'moto-venv-'));
    dirs.push(venv);
    const r = check({ LOCAL_PYTHON: join(venv, 'no-such-python3'), MOTO_VENV_DIR: join(venv, 'moto') });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Python 3 is required');
    expect(r.stderr).toContain('apt-get install python3 python3-venv');
  });

  test('without moto it creates a virtual environment and installs the pinned version; a failure keeps nothing', () => {
    // A Python 3 that cannot see the machine's moto (-S: no site-packages), and a pip that may not
    // use any index (PIP_NO_INDEX): the install is attempted for real and fails offline.
    const work = mkdtempSync(join(tmpdir(), 'moto-venv-'));
    dirs.push(work);
    const real = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
    }).stdout.trim();
    const python = join(work, 'python3');
    writeFileSync(python, `#!/bin/sh\nexec "${real}" -S "$@"\n`);
    chmodSync(python, 0o755);
    const target = join(work, 'moto');
    const r = check({ LOCAL_PYTHON: python, MOTO_VENV_DIR: target, PIP_NO_INDEX: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`Setting up the AWS emulator once: moto[server]==${MOTO_VERSION}`);
    expect(r.stderr).toContain(`Installing moto[server]==${MOTO_VERSION} failed`);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(work)).toEqual(['python3']);
  });

  test('MOTO_PYTHON without the pinned moto is refused with the command that fixes it', () => {
    const r = check({ MOTO_PYTHON: '/bin/false' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`pip install "moto[server]==${MOTO_VERSION}"`);
  });
});
