import { wiring } from '../../functions/wiring';
import { describePortConformance } from '../support/port-conformance';
import { startServer, type TestServer } from '../support/server';

let s: TestServer | undefined;
afterAll(() => s?.close());

// The AWS adapters from the composition root, on moto; the same suite runs in memory
// (test/unit/ports-memory.test.ts).
describePortConformance('AWS adapters (DynamoDB, S3) on moto', async () => {
  s = await startServer('ports'); // gives this file its own table
  const w = wiring();
  return {
    repo: w.repo,
    blobs: w.blobs,
    queries: w.queries,
    multipart: w.multipart,
    sessions: w.sessions,
    async follow(url, init = {}) {
      const res = await fetch(url, {
        method: init.method ?? 'GET',
        ...(init.body
          ? { body: init.body as BodyInit, headers: { 'content-type': 'application/octet-stream' } }
          : {}),
      });
      if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
      if (init.method === 'PUT') return undefined;
      return {
        bytes: new Uint8Array(await res.arrayBuffer()),
        contentType: res.headers.get('content-type') ?? '',
      };
    },
  };
});
