import type { Binary } from 'fhir/r4';
import { patchBinary } from '../../functions/core/patch';
import type { CoreDeps, VersionRecord, VersionRepository } from '../../functions/core/ports';
import { VersionConflictError } from '../../functions/core/ports';
import type { FhirRequest } from '../../functions/core/request';

/**
 * C21/C22: when a concurrent write lands between reading the head and committing, the patch is
 * applied again to the new head. (moto's TransactWriteItems is not atomic under concurrent
 * requests — a failing transaction restores a snapshot of the whole table — so this is shown
 * with an in-memory repository that plays the race deterministically.)
 */
function memoryRepo(initial: VersionRecord) {
  const versions: VersionRecord[] = [initial];
  let raced = false;
  const repo: VersionRepository = {
    current: async () => versions.at(-1),
    version: async (_o, _i, vid) => versions.find((v) => v.vid === vid),
    commit: async (record, { expectedVid }) => {
      if (!raced) {
        raced = true;
        // Another writer commits first: a version tagged "theirs".
        const head = versions.at(-1)!;
        const resource = JSON.parse(head.resource!) as Binary;
        resource.meta = { tag: [...(resource.meta?.tag ?? []), { code: 'theirs' }] };
        versions.push({ ...head, vid: head.vid + 1, resource: JSON.stringify(resource), method: 'PATCH' });
      }
      if (versions.at(-1)!.vid !== expectedVid) throw new VersionConflictError();
      versions.push(record);
    },
    putIntent: async () => undefined,
    expireIntent: async () => undefined,
    isCommitted: async () => true,
  };
  return { repo, versions };
}

test('C22/C21: a patch that loses a race is re-applied to the new head, so no change is lost', async () => {
  const { repo, versions } = memoryRepo({
    org: 'o',
    id: 'x',
    vid: 1,
    lastUpdated: '2025-01-01T00:00:00.000Z',
    method: 'POST',
    created: true,
    deleted: false,
    resource: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', meta: { tag: [] } }),
    contentType: 'text/plain',
    size: 0,
  });
  const deps: CoreDeps = {
    repo,
    blobs: {
      put: async () => undefined,
      get: async () => {
        throw new Error('no bytes should be read');
      },
      delete: async () => undefined,
      copy: async () => undefined,
      presignGet: async () => '',
    },
    config: {
      maxDirectBytes: 100,
      maxInlineBytes: 100,
      presignGetSeconds: 300,
      intentTtlSeconds: 60,
      commitReserveMs: 0,
      maxResourceBytes: 65536,
    },
  };
  const req: FhirRequest = {
    method: 'PATCH',
    params: { organizationId: 'o', id: 'x' },
    query: {},
    headers: { 'content-type': 'application/json-patch+json' },
    body: Buffer.from(JSON.stringify([{ op: 'add', path: '/meta/tag/-', value: { code: 'mine' } }])),
    baseUrl: 'https://h/organizations/o/fhir/4',
  };
  const res = await patchBinary(req, deps);
  expect(res.status).toBe(200);
  expect(versions.map((v) => v.vid)).toEqual([1, 2, 3]);
  const tags = (JSON.parse(versions[2]!.resource!) as Binary).meta!.tag!.map((t) => t.code);
  expect(tags).toEqual(['theirs', 'mine']);
  expect((res.json as Binary).meta?.versionId).toBe('3');

  // With If-Match the lost race is a 412 instead, and nothing is written.
  const pinned = await patchBinary({ ...req, headers: { ...req.headers, 'if-match': 'W/"2"' } }, deps).catch(
    (e: { status: number }) => e.status,
  );
  expect(pinned).toBe(412);
  expect(versions).toHaveLength(3);
});
