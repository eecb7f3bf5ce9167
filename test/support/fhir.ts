import { expect } from '@jest/globals';
import type { TestServer } from './server';

export async function expectOutcome(
  res: Response,
  status: number,
  code: string,
): Promise<{ issue: { diagnostics: string }[] }> {
  const text = await res.text();
  expect({ status: res.status, body: text }).toMatchObject({ status });
  expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  const oo = JSON.parse(text);
  expect(oo.resourceType).toBe('OperationOutcome');
  expect(oo.issue[0].code).toBe(code);
  expect(typeof oo.issue[0].diagnostics).toBe('string');
  return oo;
}

/** C40: an answer API Gateway gives itself: `{"message": …}` as application/json. */
export async function expectGateway(res: Response, status: number, message: string): Promise<void> {
  const text = await res.text();
  expect({ status: res.status, body: text }).toEqual({ status, body: JSON.stringify({ message }) });
  expect(res.headers.get('content-type')).toBe('application/json');
}

export const idFromLocation = (loc: string | null) =>
  /\/Binary\/([^/]+)\/_history\/\d+$/.exec(loc ?? '')![1]!;

/** Raw create; returns the new id. */
export async function createRaw(
  s: TestServer,
  body: BodyInit | Uint8Array,
  contentType = 'application/octet-stream',
  headers: Record<string, string> = {},
) {
  const res = await s.fetch('/Binary', {
    method: 'POST',
    body,
    headers: { 'content-type': contentType, ...headers },
  });
  expect(res.status).toBe(201);
  return idFromLocation(res.headers.get('location'));
}

export const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');

/** A FHIR JSON Binary of exactly `size` bytes: the data plus spaces to fill up. */
export function fhirBody(size: number): string {
  const head = '{"resourceType":"Binary","contentType":"application/octet-stream","data":"';
  const dataChars = Math.floor((size - head.length - 2) / 4) * 4;
  const data = Buffer.alloc((dataChars / 4) * 3, 7).toString('base64');
  const body = `${head}${data}"${' '.repeat(size - head.length - data.length - 2)}}`;
  expect(body.length).toBe(size);
  return body;
}
