import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { committedVersion, headItem, versionItem } from '../../functions/adapters/dynamo-schema';
import {
  EXTENDED_PAYLOAD_SIZE,
  messageAttributes,
  offloadKey,
  packBatches,
  SNS_MAX_MESSAGE_BYTES,
  snsMessageSize,
} from '../../functions/adapters/sns-publisher';
import { DATA_ABSENT } from '../../functions/core/binary';
import {
  buildNotification,
  NOTIFICATION_MAX_DATA_BYTES,
  nextBatch,
  notificationAction,
} from '../../functions/core/notification';
import type { VersionRecord } from '../../functions/core/ports';

const base: VersionRecord = {
  org: 'acme',
  id: 'b1',
  vid: 3,
  lastUpdated: '2026-01-02T03:04:05.678Z',
  method: 'PUT',
  created: false,
  deleted: false,
  resource: JSON.stringify({
    resourceType: 'Binary',
    contentType: 'text/plain',
    securityContext: { reference: 'Patient/9' },
  }),
  contentType: 'text/plain',
  size: 5,
  blobKey: 'acme/Binary/b1/k',
};

/** A loader over an in-memory map that records every key it is asked for. */
function loader(blobs: Record<string, Uint8Array>) {
  const reads: string[] = [];
  const load = async (key: string) => {
    reads.push(key);
    const b = blobs[key];
    if (!b) throw new Error(`no blob ${key}`);
    return b;
  };
  return { load, reads };
}

describe('C32 action mapping', () => {
  test.each([
    [{ method: 'POST', created: true, deleted: false }, 'CreateResource'],
    [{ method: 'PUT', created: true, deleted: false }, 'CreateResource'],
    [{ method: 'PUT', created: false, deleted: false }, 'UpdateResource'],
    [{ method: 'PATCH', created: false, deleted: false }, 'PatchResource'],
    [{ method: 'DELETE', created: false, deleted: true }, 'DeleteResource'],
  ] as const)('C32: %o → %s', (r, action) => {
    expect(notificationAction(r)).toBe(action);
  });
});

describe('C32/C33 buildNotification', () => {
  test('C32: update carries every attribute and the full Binary with data', async () => {
    const { load, reads } = loader({ 'acme/Binary/b1/k': Buffer.from('hello') });
    const n = await buildNotification(base, load);
    expect(n.attributes).toEqual({
      action: 'UpdateResource',
      resourceType: 'Binary',
      organizationId: 'acme',
      resourceId: 'b1',
      versionId: '3',
      lastUpdatedTime: '2026-01-02T03:04:05.678Z',
      payloadType: 'FullResource',
    });
    expect(JSON.parse(n.body)).toEqual({
      resourceType: 'Binary',
      id: 'b1',
      meta: { versionId: '3', lastUpdated: '2026-01-02T03:04:05.678Z' },
      contentType: 'text/plain',
      securityContext: { reference: 'Patient/9' },
      data: Buffer.from('hello').toString('base64'),
    });
    expect(reads).toEqual(['acme/Binary/b1/k']);
  });

  test('C32: delete is NameOnly with body Binary/{id} and reads nothing', async () => {
    const { load, reads } = loader({});
    const rec: VersionRecord = {
      ...base,
      method: 'DELETE',
      deleted: true,
      size: 0,
      resource: undefined,
      blobKey: undefined,
    };
    const n = await buildNotification(rec, load);
    expect(n.attributes.action).toBe('DeleteResource');
    expect(n.attributes.payloadType).toBe('NameOnly');
    expect(n.body).toBe('Binary/b1');
    expect(reads).toEqual([]);
  });

  test('C33: over 10 MiB by one byte → no data, C31 extension, bytes never loaded', async () => {
    const { load, reads } = loader({});
    const n = await buildNotification({ ...base, size: NOTIFICATION_MAX_DATA_BYTES + 1 }, load);
    const body = JSON.parse(n.body);
    expect(body.data).toBeUndefined();
    expect(body._data).toEqual(DATA_ABSENT);
    expect(reads).toEqual([]);
  });

  test('C33: exactly 10 MiB → data included', async () => {
    const bytes = new Uint8Array(NOTIFICATION_MAX_DATA_BYTES).fill(7);
    const { load } = loader({ 'acme/Binary/b1/k': bytes });
    const n = await buildNotification({ ...base, size: bytes.length }, load);
    const body = JSON.parse(n.body);
    expect(body._data).toBeUndefined();
    expect(Buffer.from(body.data, 'base64').equals(Buffer.from(bytes))).toBe(true);
  });

  test('C32: a read that does not match the stored size fails instead of publishing', async () => {
    const { load } = loader({ 'acme/Binary/b1/k': Buffer.from('hell') });
    await expect(buildNotification(base, load)).rejects.toThrow(/stored size is 5/);
  });

  test('C32: an empty Binary has neither data nor the extension', async () => {
    const { load, reads } = loader({});
    const n = await buildNotification({ ...base, size: 0, blobKey: undefined }, load);
    const body = JSON.parse(n.body);
    expect(body.data).toBeUndefined();
    expect(body._data).toBeUndefined();
    expect(reads).toEqual([]);
  });
});

describe('C34 SNS size accounting', () => {
  test('C34: size counts body plus attribute names, types and values in UTF-8 bytes', () => {
    const attrs = { a: { DataType: 'String', StringValue: 'é' } };
    // body "ü" = 2 bytes; "a" 1 + "String" 6 + "é" 2
    expect(snsMessageSize('ü', attrs)).toBe(2 + 1 + 6 + 2);
  });

  test('C34: offload keys are deterministic per version under _events/', () => {
    const attrs = { organizationId: 'acme', resourceId: 'b1', versionId: '3' };
    expect(offloadKey(attrs)).toBe('_events/acme/b1/3.json');
    expect(EXTENDED_PAYLOAD_SIZE).toBe('ExtendedPayloadSize');
  });

  test('C32: message attributes are all String (filterable)', () => {
    const attrs = messageAttributes({
      action: 'CreateResource',
      resourceType: 'Binary',
      organizationId: 'acme',
      resourceId: 'b1',
      versionId: '1',
      lastUpdatedTime: 't',
      payloadType: 'FullResource',
    });
    expect(Object.values(attrs).every((v) => v.DataType === 'String')).toBe(true);
    expect(attrs.organizationId?.StringValue).toBe('acme');
  });
});

describe('C32 which stream records are notifications', () => {
  const rec = (eventName: DynamoDBRecord['eventName'], item: Record<string, unknown>): DynamoDBRecord => ({
    eventName,
    dynamodb: {
      Keys: marshall({ pk: item.pk, sk: item.sk }) as never,
      NewImage: marshall(item, { removeUndefinedValues: true }) as never,
    },
  });

  test('C32: INSERT of a version item is one; heads, intents, uploads, MODIFY are not', () => {
    const v = committedVersion(rec('INSERT', versionItem(base)));
    expect(v).toEqual(base);
    expect(committedVersion(rec('INSERT', headItem(base)))).toBeUndefined();
    expect(committedVersion(rec('MODIFY', versionItem(base)))).toBeUndefined();
    expect(
      committedVersion(rec('INSERT', { pk: 'I#acme/Binary/b1/k', sk: 'I', kind: 'intent' })),
    ).toBeUndefined();
    expect(committedVersion(rec('INSERT', { pk: 'B#acme#b1', sk: 'U#abc' }))).toBeUndefined();
    expect(committedVersion(rec('INSERT', { pk: 'CHECKPOINT#x#s', sk: 'CHECKPOINT' }))).toBeUndefined();
  });
});

describe('#14 item 4: batching notifications', () => {
  test('C32: nextBatch takes the earliest pending version of up to max resources, never two of one resource', () => {
    const pending = ['a1', 'a2', 'b1', 'a3', 'c1', 'b2', 'd1'];
    const res = (x: string) => x[0]!;
    expect(nextBatch(pending, res, 10)).toEqual(['a1', 'b1', 'c1', 'd1']);
    expect(nextBatch(pending, res, 2)).toEqual(['a1', 'b1']);
    expect(nextBatch(['a2', 'a3', 'b2'], res, 10)).toEqual(['a2', 'b2']);
    expect(nextBatch([], res, 10)).toEqual([]);
  });

  test('C34: packBatches keeps PublishBatch within 10 entries and 256 KiB in total, in order', () => {
    const items = [100_000, 100_000, 100_000, 1, 262_144, 5].map((size, i) => ({ i, size }));
    expect(packBatches(items, 10, SNS_MAX_MESSAGE_BYTES).map((b) => b.map((x) => x.i))).toEqual([
      [0, 1],
      [2, 3],
      [4],
      [5],
    ]);
    const many = Array.from({ length: 23 }, (_, i) => ({ i, size: 10 }));
    expect(packBatches(many, 10, SNS_MAX_MESSAGE_BYTES).map((b) => b.length)).toEqual([10, 10, 3]);
  });
});
