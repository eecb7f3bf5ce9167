import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import {
  createTableInput,
  INDEX_BY_TENANT,
  INDEX_CURRENT_BY_TENANT,
} from '../../functions/adapters/dynamo-schema';
import { ensureMoto, freePort, type Moto, startMoto, stopProcess } from '../../local/moto';

/**
 * #11 (moto_serial.py 6): a Query reads only its partition, from where its page starts, instead
 * of sorting the whole table, and still answers exactly as moto does. A random mix of writes
 * (puts, updates that set, change or remove index keys, deletes, batch writes, transactions that
 * commit, are cancelled or fail while applying) and queries (every index, every key condition,
 * both directions, Limit, ExclusiveStartKey, COUNT, filters, projections) runs against the
 * patched emulator and against an unpatched moto_server of the same version; every answer must be
 * the same, page by page.
 */

/** Unpatched moto_server (the pinned version) on a free loopback port. */
async function startPlainMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    ensureMoto(),
    ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
    const up = await fetch(`${endpoint}/moto-api/`).then(
      (r) => r.status < 500,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error('moto_server did not start within 30 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint, pid: child.pid!, stop: () => stopProcess(child) };
}

// The service's table (createTableInput) plus the key shapes it does not use itself: a number
// sort key, an index without a sort key, KEYS_ONLY and INCLUDE projections, a local index.
function tableInput(name: string) {
  const base = createTableInput(name);
  return {
    ...base,
    AttributeDefinitions: [
      ...(base.AttributeDefinitions ?? []),
      { AttributeName: 'npk', AttributeType: 'S' as const },
      { AttributeName: 'nsk', AttributeType: 'N' as const },
      { AttributeName: 'gpk', AttributeType: 'S' as const },
      { AttributeName: 'lsk', AttributeType: 'S' as const },
    ],
    GlobalSecondaryIndexes: [
      ...(base.GlobalSecondaryIndexes ?? []),
      {
        IndexName: 'num',
        KeySchema: [
          { AttributeName: 'npk', KeyType: 'HASH' as const },
          { AttributeName: 'nsk', KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: ['x'] },
      },
      {
        IndexName: 'norange',
        KeySchema: [{ AttributeName: 'gpk', KeyType: 'HASH' as const }],
        Projection: { ProjectionType: 'ALL' as const },
      },
      {
        IndexName: 'keysonly',
        KeySchema: [
          { AttributeName: 'cpk', KeyType: 'HASH' as const },
          { AttributeName: 'tsk', KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' as const },
      },
    ],
    LocalSecondaryIndexes: [
      {
        IndexName: 'lsi',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' as const },
          { AttributeName: 'lsk', KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      },
    ],
  };
}

// Small value sets, so that partitions, ties, prefixes and page boundaries meet often.
const PKS = ['p0', 'p1', 'p2', 'p3', 'p4'];
const SKS = ['HEAD', 'V#1', 'V#2', 'V#10', 'X', 'a', 'ab', 'b'];
const TENANTS = ['t0', 't1', 't2'];
const STRS = ['a', 'a#', 'a#1', 'a#2', 'ab', 'b', 'b#1', 'ba', 'c', 'z', 'é', 'A', '2026-01-01T00:00:00Z#x'];
const NUMS = ['1', '1.0', '-2.5', '10', '0', '3', '2.50'];
const PREFIXES = ['a', 'a#', 'b', 'V#', 'H', 'z', 'é', '2026'];

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });
const str = fc.constantFrom(...STRS);
const num = fc.constantFrom(...NUMS);
const tenant = fc.constantFrom(...TENANTS);
const key = fc.record({ pk: fc.constantFrom(...PKS).map(S), sk: fc.constantFrom(...SKS).map(S) });

const item = fc
  .record(
    {
      tpk: tenant.map(S),
      tsk: str.map(S),
      cpk: tenant.map(S),
      csk: str.map(S),
      npk: tenant.map(S),
      nsk: num.map(N),
      gpk: tenant.map(S),
      lsk: str.map(S),
      x: fc.integer({ min: 0, max: 5 }).map((i) => N(String(i))),
      s: fc.constant(S('not a number')),
    },
    { requiredKeys: [] },
  )
  .chain((attrs) =>
    fc
      .tuple(
        key,
        // A few items large enough for a page to end at 1 MB rather than at its Limit.
        fc.oneof(
          { weight: 12, arbitrary: fc.constant({}) },
          { weight: 1, arbitrary: fc.constantFrom(150_000, 390_000).map((n) => ({ big: S('x'.repeat(n)) })) },
        ),
      )
      .map(([k, big]) => ({ ...k, ...attrs, ...big }) as Record<string, AttributeValue>),
  );

/** SET/REMOVE of index keys (so items move between partitions, or out of an index). */
const update = fc
  .record({
    key,
    set: fc.uniqueArray(fc.constantFrom('tpk', 'tsk', 'cpk', 'csk', 'npk', 'nsk', 'gpk', 'lsk', 'x'), {
      maxLength: 4,
    }),
    remove: fc.uniqueArray(fc.constantFrom('tpk', 'tsk', 'cpk', 'csk', 'nsk', 'gpk', 'lsk'), {
      maxLength: 2,
    }),
    values: fc.tuple(tenant, str, num),
    failing: fc.integer({ min: 0, max: 7 }).map((n) => n === 0), // `s = s + 1` on a string: refused while applying
    condition: fc.constantFrom(undefined, 'attribute_exists(pk)', 'attribute_not_exists(pk)'),
  })
  .map(({ key: k, set, remove, values: [t, s, n], failing, condition }) => {
    const names: Record<string, string> = {};
    const vals: Record<string, AttributeValue> = {};
    const sets: string[] = [];
    for (const a of set) {
      names[`#${a}`] = a;
      sets.push(`#${a} = :${a}`);
      vals[`:${a}`] = a === 'nsk' || a === 'x' ? N(n) : a.endsWith('pk') ? S(t) : S(s);
    }
    if (failing) {
      sets.push('s = s + :one');
      vals[':one'] = N('1');
    }
    const removes = remove.filter((a) => !set.includes(a));
    for (const a of removes) names[`#${a}`] = a;
    if (sets.length === 0 && removes.length === 0) {
      sets.push('x = :x');
      vals[':x'] = N('1');
    }
    const expr = [
      sets.length ? `SET ${sets.join(', ')}` : '',
      removes.length ? `REMOVE ${removes.map((a) => `#${a}`).join(', ')}` : '',
    ]
      .join(' ')
      .trim();
    return {
      Key: k,
      UpdateExpression: expr,
      ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
      ...(Object.keys(vals).length ? { ExpressionAttributeValues: vals } : {}),
      ...(condition ? { ConditionExpression: condition } : {}),
    } satisfies Omit<UpdateItemCommandInput, 'TableName'>;
  });

type Op =
  | { kind: 'put'; item: Record<string, AttributeValue>; ifNew: boolean }
  | { kind: 'update'; input: Omit<UpdateItemCommandInput, 'TableName'> }
  | { kind: 'delete'; key: Record<string, AttributeValue>; ifTenant: boolean }
  | { kind: 'batch'; items: Record<string, AttributeValue>[]; deletes: Record<string, AttributeValue>[] }
  | {
      kind: 'tx';
      parts: (
        | { put: Record<string, AttributeValue>; ifNew: boolean }
        | { update: Omit<UpdateItemCommandInput, 'TableName'> }
        | { del: Record<string, AttributeValue> }
        | { check: Record<string, AttributeValue> }
      )[];
    }
  | { kind: 'query'; input: Omit<QueryCommandInput, 'TableName'>; start?: Record<string, AttributeValue> };

/** Query key shapes: [index, hash attribute, hash values, sort attribute, sort values]. */
const SHAPES: [string | undefined, string, string[], string | undefined, fc.Arbitrary<AttributeValue>][] = [
  [undefined, 'pk', PKS, 'sk', fc.constantFrom(...SKS, ...STRS).map(S)],
  [INDEX_BY_TENANT, 'tpk', TENANTS, 'tsk', str.map(S)],
  [INDEX_CURRENT_BY_TENANT, 'cpk', TENANTS, 'csk', str.map(S)],
  ['num', 'npk', TENANTS, 'nsk', num.map(N)],
  ['norange', 'gpk', TENANTS, undefined, str.map(S)],
  ['keysonly', 'cpk', TENANTS, 'tsk', str.map(S)],
  ['lsi', 'pk', PKS, 'lsk', str.map(S)],
];

const query: fc.Arbitrary<Op> = fc.constantFrom(...SHAPES).chain(([index, h, hashes, r, sortValue]) =>
  fc
    .record({
      hash: fc.constantFrom(...hashes, 'nope'),
      cond: r
        ? fc.constantFrom(undefined, '=', '<', '<=', '>', '>=', 'BETWEEN', 'begins_with')
        : fc.constant(undefined),
      a: sortValue,
      b: sortValue,
      prefix: fc.constantFrom(...PREFIXES),
      limit: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      backward: fc.boolean(),
      count: fc.boolean(),
      filter: fc.boolean(),
      projection: fc.boolean(),
      consistent: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      // a start key at an arbitrary position (existing or not), as a client may send
      start: fc.option(
        fc.record({
          pk: fc.constantFrom(...PKS),
          sk: fc.constantFrom(...SKS),
          h: fc.constantFrom(...hashes),
          r: sortValue,
        }),
        { nil: undefined },
      ),
    })
    .map((q): Op => {
      const values: Record<string, AttributeValue> = { ':h': S(q.hash) };
      let kce = `${h} = :h`;
      const numeric = r === 'nsk';
      if (q.cond === 'begins_with' && !numeric) {
        kce += ` AND begins_with(${r}, :a)`;
        values[':a'] = S(q.prefix);
      } else if (q.cond === 'BETWEEN') {
        kce += ` AND ${r} BETWEEN :a AND :b`;
        values[':a'] = q.a;
        values[':b'] = q.b;
      } else if (q.cond && q.cond !== 'begins_with') {
        kce += ` AND ${r} ${q.cond} :a`;
        values[':a'] = q.a;
      }
      if (q.filter) values[':f'] = N('2');
      const input: Omit<QueryCommandInput, 'TableName'> = {
        ...(index ? { IndexName: index } : {}),
        KeyConditionExpression: kce,
        ExpressionAttributeValues: values,
        ...(q.limit ? { Limit: q.limit } : {}),
        ...(q.backward ? { ScanIndexForward: false } : {}),
        ...(q.count ? { Select: 'COUNT' as const } : {}),
        ...(q.filter ? { FilterExpression: 'x > :f' } : {}),
        ...(q.projection && !q.count ? { ProjectionExpression: 'pk, sk, x, tsk' } : {}),
        // GSIs refuse ConsistentRead: both must say so alike
        ...(q.consistent ? { ConsistentRead: true } : {}),
      };
      const start = q.start
        ? { pk: S(q.start.pk), sk: S(q.start.sk), [h]: S(q.start.h), ...(r ? { [r]: q.start.r } : {}) }
        : undefined;
      return { kind: 'query', input, start };
    }),
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('put' as const), item, ifNew: fc.boolean() }) },
  { weight: 4, arbitrary: update.map((input): Op => ({ kind: 'update', input })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key, ifTenant: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('batch' as const),
      items: fc.array(item, { maxLength: 4 }),
      deletes: fc.array(key, { maxLength: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('tx' as const),
      parts: fc.array(
        fc.oneof(
          fc.record({ put: item, ifNew: fc.boolean() }),
          fc.record({ update }),
          fc.record({ del: key }),
          fc.record({ check: key }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    }),
  },
  { weight: 7, arbitrary: query },
);

const keyOf = (k: Record<string, AttributeValue>) => `${k.pk?.S}\n${k.sk?.S}`;
/** At most one write per key in a batch or a transaction (both refuse duplicates anyway). */
function distinct<T>(xs: T[], k: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => !seen.has(k(x)) && seen.add(k(x)));
}

async function apply(ddb: DynamoDBClient, table: string, o: Op): Promise<unknown[]> {
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: Error) => `error ${e.name}`,
    );
  switch (o.kind) {
    case 'put':
      return [
        await outcome(
          ddb.send(
            new PutItemCommand({
              TableName: table,
              Item: o.item,
              ...(o.ifNew ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
            }),
          ),
        ),
      ];
    case 'update':
      return [await outcome(ddb.send(new UpdateItemCommand({ TableName: table, ...o.input })))];
    case 'delete':
      return [
        await outcome(
          ddb.send(
            new DeleteItemCommand({
              TableName: table,
              Key: o.key,
              ...(o.ifTenant ? { ConditionExpression: 'attribute_exists(tpk)' } : {}),
            }),
          ),
        ),
      ];
    case 'batch': {
      const writes = distinct(
        [
          ...o.items.map((i) => ({ PutRequest: { Item: i } })),
          ...o.deletes.map((k) => ({ DeleteRequest: { Key: k } })),
        ],
        (w) => keyOf('PutRequest' in w ? w.PutRequest.Item : w.DeleteRequest.Key),
      );
      if (writes.length === 0) return ['empty'];
      return [await outcome(ddb.send(new BatchWriteItemCommand({ RequestItems: { [table]: writes } })))];
    }
    case 'tx': {
      const items: TransactWriteItem[] = distinct(o.parts, (p) =>
        keyOf('put' in p ? p.put : 'update' in p ? p.update.Key! : 'del' in p ? p.del : p.check),
      ).map((p) =>
        'put' in p
          ? {
              Put: {
                TableName: table,
                Item: p.put,
                ...(p.ifNew ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
              },
            }
          : 'update' in p
            ? { Update: { TableName: table, ...p.update } as TransactWriteItem['Update'] }
            : 'del' in p
              ? { Delete: { TableName: table, Key: p.del } }
              : {
                  ConditionCheck: {
                    TableName: table,
                    Key: p.check,
                    ConditionExpression: 'attribute_exists(pk)',
                  },
                },
      );
      // Whether it commits is compared, not why not: moto_serial (2) checks every condition
      // before applying anything, so where moto would report a validation error met while
      // applying an earlier item, it may report a later item's failed condition.
      const committed = await outcome(ddb.send(new TransactWriteItemsCommand({ TransactItems: items })));
      return [committed === 'ok' ? 'ok' : 'refused'];
    }
    case 'query': {
      // every page, following LastEvaluatedKey
      const pages: unknown[] = [];
      let start = o.start;
      for (let page = 0; page < 40; page++) {
        const out = await ddb
          .send(new QueryCommand({ TableName: table, ...o.input, ExclusiveStartKey: start }))
          .then(
            (r) => ({
              Items: r.Items,
              Count: r.Count,
              ScannedCount: r.ScannedCount,
              LastEvaluatedKey: r.LastEvaluatedKey,
            }),
            (e: Error) => ({ error: e.name }),
          );
        pages.push(out);
        if (!('LastEvaluatedKey' in out) || !out.LastEvaluatedKey) break;
        start = out.LastEvaluatedKey;
      }
      return pages;
    }
  }
}

describe('#11 item 6: a Query reads its partition only, with the answers of unpatched moto', () => {
  let patched: Moto;
  let plain: Moto;
  let a: DynamoDBClient;
  let b: DynamoDBClient;
  beforeAll(async () => {
    [patched, plain] = await Promise.all([startMoto(), startPlainMoto()]);
    const client = (endpoint: string) =>
      new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
    a = client(patched.endpoint);
    b = client(plain.endpoint);
  }, 60_000);
  afterAll(async () => {
    a?.destroy();
    b?.destroy();
    await Promise.all([patched?.stop(), plain?.stop()]);
  });

  test('random writes and queries: every page the same as moto_server answers', async () => {
    const seen = { pages: 0, nonEmpty: 0, continued: 0, errors: 0, writesRefused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(item, { minLength: 20, maxLength: 60 }),
        fc.array(op, { minLength: 60, maxLength: 160 }),
        async (initial, ops) => {
          const table = `q-${randomUUID()}`;
          await Promise.all([a, b].map((c) => c.send(new CreateTableCommand(tableInput(table)))));
          // a table with items in it first (the same on both), in batches of 25
          for (let i = 0; i < initial.length; i += 25) {
            const writes = distinct(initial.slice(i, i + 25), keyOf).map((Item) => ({
              PutRequest: { Item },
            }));
            await Promise.all(
              [a, b].map((c) => c.send(new BatchWriteItemCommand({ RequestItems: { [table]: writes } }))),
            );
          }
          for (const [i, o] of ops.entries()) {
            const [got, want] = [await apply(a, table, o), await apply(b, table, o)];
            if (JSON.stringify(got) !== JSON.stringify(want)) {
              throw new Error(
                `step ${i} ${JSON.stringify(o)}:\npatched ${JSON.stringify(got)}\nmoto    ${JSON.stringify(want)}`,
              );
            }
            if (o.kind !== 'query') {
              if (got[0] !== 'ok' && got[0] !== 'empty') seen.writesRefused++;
              continue;
            }
            for (const p of got as { Count?: number; LastEvaluatedKey?: unknown; error?: string }[]) {
              seen.pages++;
              if (p.error) seen.errors++;
              if ((p.Count ?? 0) > 0) seen.nonEmpty++;
              if (p.LastEvaluatedKey) seen.continued++;
            }
          }
        },
      ),
      { numRuns: 16, seed: 1106, endOnFailure: true },
    );
    // the runs met what they are meant to compare
    expect(seen.nonEmpty).toBeGreaterThan(100);
    expect(seen.continued).toBeGreaterThan(50);
    expect(seen.errors).toBeGreaterThan(0);
    expect(seen.writesRefused).toBeGreaterThan(10);
  }, 300_000);
});
