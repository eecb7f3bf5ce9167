import type { CapabilityStatement } from 'fhir/r4';
import { b64, expectOutcome } from '../support/fhir';
import { storedFor } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

/** #12 item 7's better option: POST [base]/Binary/$validate runs a create's checks and stores nothing. */
let s: TestServer;
beforeAll(async () => {
  s = await startServer('validate');
});
afterAll(() => s.close());

const validate = (body: unknown, ct = 'application/fhir+json') =>
  s.fetch('/Binary/$validate', {
    method: 'POST',
    headers: { 'content-type': ct },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const issue = async (res: Response) => {
  expect(res.status).toBe(200);
  const oo = await res.json();
  expect(oo.resourceType).toBe('OperationOutcome');
  return oo.issue[0] as { severity: string; code: string; diagnostics: string };
};

describe('#12 $validate', () => {
  test('a valid Binary → 200 information; nothing stored', async () => {
    const ok = await issue(
      await validate({ resourceType: 'Binary', contentType: 'text/plain', data: b64('x') }),
    );
    expect(ok.severity).toBe('information');
    const wrapped = await issue(
      await validate({
        resourceType: 'Parameters',
        parameter: [{ name: 'resource', resource: { resourceType: 'Binary', contentType: 'text/plain' } }],
      }),
    );
    expect(wrapped.severity).toBe('information');
    expect((await storedFor(s.org)).items).toEqual([]);
  });

  test.each([
    [{ resourceType: 'Binary' }, 'required'],
    [{ resourceType: 'Binary', contentType: 'text/plain', data: 'not base64!' }, 'value'],
    [{ resourceType: 'Binary', contentType: 'text/plain', color: 'red' }, 'structure'],
    [
      {
        resourceType: 'Binary',
        contentType: 'text/plain',
        _data: {
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unsupported' },
          ],
        },
      },
      'business-rule',
    ],
    [{ resourceType: 'Patient' }, 'invalid'],
  ])('an invalid Binary → 200 with the error a create would give (%#)', async (body, code) => {
    const e = await issue(await validate(body));
    expect(e).toMatchObject({ severity: 'error', code });
  });

  test('not FHIR JSON → 415; no token → 401; listed in the CapabilityStatement', async () => {
    await expectOutcome(await validate('x', 'text/plain'), 415, 'not-supported');
    const anon = await fetch(`${s.base}/Binary/$validate`, { method: 'POST', body: '{}' });
    expect(anon.status).toBe(401);
    const cs = (await (await fetch(`${s.base}/metadata`)).json()) as CapabilityStatement;
    const op = cs.rest![0]!.resource![0]!.operation!.find((o) => o.name === 'validate')!;
    expect(op.definition).toBe(`${s.base}/OperationDefinition/Binary-validate`);
    expect((await fetch(op.definition)).status).toBe(200);
  });
});
