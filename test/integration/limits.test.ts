import {
  base64Length,
  MAX_DIRECT_BODY_BYTES,
  MAX_EVENT_BODY_BYTES,
  MAX_FHIR_DATA_BYTES,
} from '../../functions/limits';
import { expectGateway, expectOutcome, fhirBody } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('limits');
});
afterAll(() => s.close());

const post = (body: Uint8Array | string, contentType: string) =>
  s.fetch('/Binary', { method: 'POST', body, headers: { 'content-type': contentType } });

describe('C13 direct-write limits that hold on AWS', () => {
  test('C13: the limits follow from Lambda’s 6,291,556-byte event and base64', () => {
    expect(MAX_DIRECT_BODY_BYTES).toBe(4_456_448);
    expect(MAX_EVENT_BODY_BYTES).toBe(base64Length(MAX_DIRECT_BODY_BYTES));
    expect(MAX_EVENT_BODY_BYTES).toBe(5_941_932);
    expect(MAX_FHIR_DATA_BYTES).toBe(3_339_264);
  });

  test('C13: a FHIR JSON create at the limit → 201; 1 byte over → 413 OperationOutcome naming $upload', async () => {
    const ok = await post(fhirBody(MAX_DIRECT_BODY_BYTES), 'application/fhir+json');
    expect(ok.status).toBe(201);
    expect((await ok.json()).data.length).toBeGreaterThanOrEqual(base64Length(MAX_FHIR_DATA_BYTES));
    const oo = await expectOutcome(
      await post(fhirBody(MAX_DIRECT_BODY_BYTES + 1), 'application/fhir+json'),
      413,
      'too-long',
    );
    expect(oo.issue[0]!.diagnostics).toContain('$upload');
    expect(oo.issue[0]!.diagnostics).toContain(String(MAX_DIRECT_BODY_BYTES));
  });

  test('C13: a raw create at the limit → 201; 1 byte over → 413 OperationOutcome naming $upload', async () => {
    const ok = await post(new Uint8Array(MAX_DIRECT_BODY_BYTES).fill(1), 'application/pdf');
    expect(ok.status).toBe(201);
    const oo = await expectOutcome(
      await post(new Uint8Array(MAX_DIRECT_BODY_BYTES + 1).fill(1), 'application/pdf'),
      413,
      'too-long',
    );
    expect(oo.issue[0]!.diagnostics).toContain('$upload');
  });

  test('C13: a JSON Patch body over the limit → 413 OperationOutcome', async () => {
    const id = (await post('x', 'text/plain')).headers.get('location')!.split('/Binary/')[1]!.split('/')[0]!;
    const data = Buffer.alloc(MAX_FHIR_DATA_BYTES + 90_000, 3).toString('base64');
    const res = await s.fetch(`/Binary/${id}`, {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'replace', path: '/data', value: data }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    await expectOutcome(res, 413, 'too-long');
  });

  test('C13: a text body counts as the event carries it, escaped: 413 OperationOutcome past 5,941,932 bytes', async () => {
    // 3,000,000 quotes are 6,000,000 bytes once escaped: over the budget, still inside the event.
    const oo = await expectOutcome(await post('"'.repeat(3_000_000), 'text/plain'), 413, 'too-long');
    expect(oo.issue[0]!.diagnostics).toContain('application/octet-stream');
    // The same bytes as a binary type are base64-encoded (4,000,000 bytes) and fit.
    expect((await post('"'.repeat(3_000_000), 'application/octet-stream')).status).toBe(201);
  });

  test('C40: an event over Lambda’s 6,291,556 bytes never reaches the function: the gateway’s 413', async () => {
    // 4.6 MiB as a binary type: base64 takes 6,431,403 bytes.
    await expectGateway(
      await post(new Uint8Array(4_823_450).fill(2), 'application/octet-stream'),
      413,
      'Request Too Long',
    );
    // A text body that escaping pushes over: 3,200,000 quotes → 6,400,000 bytes.
    await expectGateway(await post('"'.repeat(3_200_000), 'text/plain'), 413, 'Request Too Long');
    // Over the HTTP API's 10 MB: refused before any function.
    await expectGateway(
      await post(new Uint8Array(10 * 1024 * 1024 + 1), 'application/octet-stream'),
      413,
      'Request Entity Too Large',
    );
  });
});
