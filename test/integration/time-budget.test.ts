import { sweepExpiredIntents } from '../../local/sweeper';
import { b64, createRaw, expectOutcome } from '../support/fhir';
import { storedFor, versionsOf } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

/*
 * C7: a request whose remaining time cannot cover a commit is refused with 503 + Retry-After
 * before it commits — never cut off after committing. The local server gives each request the
 * function's timeout as its budget (getRemainingTimeInMillis); here it is 2 s, less than the
 * 3 s a commit is allowed (COMMIT_RESERVE_MS), so every write is refused and every read works.
 */
let s: TestServer;
beforeAll(async () => {
  s = await startServer('budget');
});
afterAll(() => s.close());
afterEach(() => {
  delete process.env.LOCAL_FUNCTION_TIMEOUT_SECONDS;
});

const short = () => {
  process.env.LOCAL_FUNCTION_TIMEOUT_SECONDS = '2';
};

async function expectRefused(res: Response) {
  expect(res.headers.get('retry-after')).toBe('3');
  const oo = await expectOutcome(res, 503, 'transient');
  expect(oo.issue[0]!.diagnostics).toMatch(/nothing was stored/);
}

describe('C7 time budget', () => {
  test('C7: a create without time to commit → 503 + Retry-After, nothing stored; with time → 201', async () => {
    short();
    await expectRefused(
      await s.fetch('/Binary', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } }),
    );
    await expectRefused(
      await s.fetch('/Binary', {
        method: 'POST',
        body: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', data: b64('hi') }),
        headers: { 'content-type': 'application/fhir+json' },
      }),
    );
    // The staged bytes went to the reaper (their intents expired at once, #14.8); once it ran,
    // nothing is left behind.
    await sweepExpiredIntents();
    expect(await storedFor(s.org)).toEqual({ objects: [], items: [] });
    delete process.env.LOCAL_FUNCTION_TIMEOUT_SECONDS;
    const ok = await s.fetch('/Binary', {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(ok.status).toBe(201);
  });

  test('C7: update, patch and delete without time to commit → 503, no new version; reads still answer', async () => {
    const id = await createRaw(s, 'v1', 'text/plain');
    short();
    await expectRefused(
      await s.fetch(`/Binary/${id}`, {
        method: 'PUT',
        body: 'v2',
        headers: { 'content-type': 'text/plain' },
      }),
    );
    await expectRefused(
      await s.fetch(`/Binary/${id}`, {
        method: 'PATCH',
        body: JSON.stringify([{ op: 'replace', path: '/contentType', value: 'text/markdown' }]),
        headers: { 'content-type': 'application/json-patch+json' },
      }),
    );
    await expectRefused(await s.fetch(`/Binary/${id}`, { method: 'DELETE' }));
    expect((await versionsOf(s.org, id)).map((v) => v.vid)).toEqual([1]);
    const read = await s.fetch(`/Binary/${id}`);
    expect(read.status).toBe(200);
    expect(await read.text()).toBe('v1');
  });
});
