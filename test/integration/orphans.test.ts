import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { updateBinary } from '../../functions/core/operations';
import type { VersionRepository } from '../../functions/core/ports';
import type { FhirRequest } from '../../functions/core/request';
import { appDeps } from '../../functions/wiring';
import { sweepExpiredIntents } from '../../local/sweeper';
import { createRaw } from '../support/fhir';
import { isIntentItem, storedFor } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('orph');
});
afterAll(() => s.close());

const objectsOf = async (org: string) => {
  const { clients, appConfig } = appDeps();
  const out = await clients.s3.send(
    new ListObjectsV2Command({ Bucket: appConfig.bucketName, Prefix: `${org}/` }),
  );
  return (out.Contents ?? []).map((o) => o.Key!);
};

/** The real repository with its commit replaced (to play a crash or a broken transaction). */
const withCommit = (repo: VersionRepository, o: Partial<VersionRepository>): VersionRepository =>
  Object.assign(Object.create(Object.getPrototypeOf(repo)), repo, o);

const putReq = (org: string, id: string, body: string): FhirRequest => ({
  method: 'PUT',
  params: { organizationId: org, id },
  query: {},
  headers: { 'content-type': 'text/plain' },
  body: new Uint8Array(Buffer.from(body)),
  baseUrl: 'http://x',
});

describe('no orphaned bytes', () => {
  test('a committed write consumes its intent; bytes stay after the TTL sweep', async () => {
    const id = await createRaw(s, 'kept', 'text/plain');
    const { items, objects } = await storedFor(s.org);
    expect(items.filter(isIntentItem)).toHaveLength(0);
    expect(objects).toHaveLength(1);
    await sweepExpiredIntents(Date.now() + 10 * 24 * 3600 * 1000);
    expect(await (await s.fetch(`/Binary/${id}`)).text()).toBe('kept');
  });

  test('bytes of a write that crashed before its commit are reclaimed when the intent expires', async () => {
    const deps = appDeps();
    const org = `${s.org}-crash`;
    // A writer that dies between writing the bytes and committing the metadata (and so never
    // hands its bytes to the reaper itself).
    const crashing = {
      ...deps,
      repo: withCommit(deps.repo, {
        commit: async () => {
          throw new Error('simulated crash');
        },
        expireIntent: async () => {
          throw new Error('crashed too');
        },
      }),
    };
    await expect(updateBinary(putReq(org, 'doomed', 'orphan bytes'), crashing)).rejects.toThrow(
      'simulated crash',
    );
    expect(await objectsOf(org)).toHaveLength(1);
    const intents = (await storedFor(org)).items.filter(isIntentItem);
    expect(intents).toHaveLength(1);
    // Not yet expired: the sweep leaves it alone.
    await sweepExpiredIntents(Date.now());
    expect(await objectsOf(org)).toHaveLength(1);
    // Past its TTL: the reaper deletes the bytes and the intent is gone.
    expect(await sweepExpiredIntents(Date.now() + 2 * 3600 * 1000)).toBeGreaterThanOrEqual(1);
    expect(await objectsOf(org)).toHaveLength(0);
    expect((await storedFor(org)).items).toHaveLength(0);
  });

  test('#14.8: a failed commit (412) hands its staged bytes to the reaper at once (its intent expires now)', async () => {
    const id = await createRaw(s, 'v1', 'text/plain');
    const before = await objectsOf(s.org);
    const res = await s.fetch(`/Binary/${id}`, {
      method: 'PUT',
      body: 'loser',
      headers: { 'content-type': 'text/plain', 'if-match': 'W/"7"' },
    });
    expect(res.status).toBe(412);
    // The writer deleted nothing (only the reaper may, infra/storage.ts); its intent is expired.
    expect(await objectsOf(s.org)).toHaveLength(before.length + 1);
    const [intent] = (await storedFor(s.org)).items.filter(isIntentItem);
    expect(Number(intent!.ttl)).toBeLessThan(Date.now() / 1000);
    // The TTL removal reaches the reaper, which deletes the bytes.
    expect(await sweepExpiredIntents()).toBeGreaterThanOrEqual(1);
    expect(await objectsOf(s.org)).toEqual(before);
    expect((await storedFor(s.org)).items.filter(isIntentItem)).toEqual([]);
  });

  test("#14.8: the reaper deletes nothing outside the expired intent's own resource keys", async () => {
    const deps = appDeps();
    const id = await createRaw(s, 'victim', 'text/plain');
    const victim = (await deps.repo.current(s.org, id))!.blobKey!;
    // An intent naming another resource for the victim's key (as a forged item would).
    await deps.repo.putIntent({ blobKey: victim, org: s.org, id: 'other', expiresAt: 1 });
    expect(await sweepExpiredIntents()).toBeGreaterThanOrEqual(1);
    expect(await objectsOf(s.org)).toContain(victim);
    expect(await (await s.fetch(`/Binary/${id}`)).text()).toBe('victim');
  });

  test('the reaper never deletes bytes a committed version refers to', async () => {
    const deps = appDeps();
    const org = `${s.org}-safe`;
    // Commit succeeds but (as if the transaction had not consumed it) the intent stays behind.
    const leaky = {
      ...deps,
      repo: withCommit(deps.repo, {
        commit: (r: Parameters<typeof deps.repo.commit>[0]) => deps.repo.commit(r, { expectedVid: 0 }),
      }),
    };
    await updateBinary(putReq(org, 'safe', 'precious'), leaky);
    expect(await sweepExpiredIntents(Date.now() + 2 * 3600 * 1000)).toBeGreaterThanOrEqual(1);
    expect(await objectsOf(org)).toHaveLength(1);
  });
});
