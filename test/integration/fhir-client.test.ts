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
