import type { Binary, Bundle } from 'fhir/r4';
import { Client } from 'fhir-kit-client';
import { b64 } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
let client: Client;
beforeAll(async () => {
  s = await startServer('fkc');
  client = new Client({ baseUrl: s.base, bearerToken: s.token });
});
afterAll(() => s.close());

test('C22/C24/C25/C27: fhir-kit-client runs capabilities, create, patch, history and search against the server', async () => {
  const cs = (await client.capabilityStatement()) as unknown as { fhirVersion: string };
  expect(cs.fhirVersion).toBe('4.0.1');
  const created = (await client.create({
    resourceType: 'Binary',
    body: { resourceType: 'Binary', contentType: 'text/plain', data: Buffer.from('kit').toString('base64') },
  })) as unknown as Binary;
  const id = created.id!;
  for (let i = 0; i < 3; i++) {
    const patched = (await client.patch({
      resourceType: 'Binary',
      id,
      jsonPatch: [{ op: 'replace', path: '/contentType', value: `text/v${i}` }],
    })) as unknown as Binary;
    expect(patched.meta?.versionId).toBe(String(i + 2));
  }
  const h1 = (await client.history({ resourceType: 'Binary', id })) as unknown as Bundle;
  expect(h1.total).toBe(4);
  const paged = (await client.resourceHistory({ resourceType: 'Binary', id })) as unknown as Bundle;
  expect(paged.entry?.[0]?.request?.method).toBe('PATCH');

  const first = (await client.search({
    resourceType: 'Binary',
    searchParams: { _id: id, _count: 1 },
  })) as unknown as Bundle;
  expect(first.total).toBe(1);
  expect((first.entry![0]!.resource as Binary).contentType).toBe('text/v2');
  const viaPost = (await client.search({
    resourceType: 'Binary',
    searchParams: { _lastUpdated: `ge${created.meta!.lastUpdated}` },
    options: { postSearch: true },
  })) as unknown as Bundle;
  expect(viaPost.entry!.map((e) => e.resource!.id)).toContain(id);

  // Paging with the client's own nextPage, through search and type history.
  await client.create({
    resourceType: 'Binary',
    body: { resourceType: 'Binary', contentType: 'text/plain' },
  });
  const small = (await client.search({
    resourceType: 'Binary',
    searchParams: { _count: 1 },
  })) as unknown as Bundle;
  expect(small.total).toBe(2);
  const second = (await client.nextPage({ bundle: small as never })) as unknown as Bundle;
  expect(second.entry).toHaveLength(1);
  expect(second.entry![0]!.resource!.id).not.toBe(small.entry![0]!.resource!.id);
  expect(second.link?.find((l) => l.relation === 'next')).toBeUndefined();
  const typePage = (await client.typeHistory({ resourceType: 'Binary', options: {} })) as unknown as Bundle;
  expect(typePage.entry).toHaveLength(5);
});

// A third-party FHIR client, speaking only FHIR JSON, against the local server (issue 2).
describe('fhir-kit-client interoperability', () => {
  test('C10/C14/C20/C15/C23: create, read, update, vread and delete', async () => {
    const created = (await client.create({
      resourceType: 'Binary',
      body: { resourceType: 'Binary', contentType: 'text/plain', data: b64('first') },
    })) as unknown as { id: string; meta: { versionId: string } };
    expect(created.meta.versionId).toBe('1');
    const read = (await client.read({ resourceType: 'Binary', id: created.id })) as unknown as {
      data: string;
    };
    expect(Buffer.from(read.data, 'base64').toString()).toBe('first');
    const updated = (await client.update({
      resourceType: 'Binary',
      id: created.id,
      body: { resourceType: 'Binary', id: created.id, contentType: 'text/plain', data: b64('second') },
    })) as unknown as { meta: { versionId: string } };
    expect(updated.meta.versionId).toBe('2');
    const v1 = (await client.vread({ resourceType: 'Binary', id: created.id, version: '1' })) as unknown as {
      data: string;
    };
    expect(Buffer.from(v1.data, 'base64').toString()).toBe('first');
    await client.delete({ resourceType: 'Binary', id: created.id });
    await expect(client.read({ resourceType: 'Binary', id: created.id })).rejects.toMatchObject({
      response: { status: 410 },
    });
  });
});
