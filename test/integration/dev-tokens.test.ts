import { readFileSync } from 'node:fs';
import { generateKeyPair, importJWK, type JWTPayload, SignJWT } from 'jose';
import { DEV_AUDIENCE, DEV_ISSUER, DEV_JWKS_FILE, devKey, mintToken } from '../../local/dev-auth';
import { startServer, type TestServer } from '../support/server';

// #13 item 9, #14 item 9 (C2): the local server checks tokens as API Gateway's JWT authorizer does.
let s: TestServer;
beforeAll(async () => {
  s = await startServer('tok');
});
afterAll(() => s.close());

const now = () => Math.floor(Date.now() / 1000);

/** A token signed by the dev key with the given header and claims, nothing added. */
async function signed(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const jwk = await devKey();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, ...header })
    .sign(await importJWK(jwk, 'RS256'));
}

const good = (): JWTPayload => ({
  iss: DEV_ISSUER,
  aud: DEV_AUDIENCE,
  sub: 'tester',
  iat: now(),
  exp: now() + 600,
  organizations: [s.org],
  scope: 'system/Binary.read',
});

const status = async (token: string) => {
  const res = await s.fetch('/Binary/nothing-here', { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
};

describe('C2: local tokens are checked like the deployed JWT authorizer', () => {
  test('dev tokens are RS256 with a kid that the written JWKS (.local/dev-jwks.json) holds', async () => {
    const token = await mintToken({ organizations: [s.org] });
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.stringMatching(/^dev-/) });
    const jwks = JSON.parse(readFileSync(DEV_JWKS_FILE, 'utf8'));
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kid: header.kid, kty: 'RSA', alg: 'RS256' });
    expect(jwks.keys[0].d).toBeUndefined();
    expect(await status(token)).toBe(404);
  });

  test('a well-formed token passes (404 for the missing Binary, not 401)', async () => {
    expect(await status(await signed(good()))).toBe(404);
  });

  test('a Cognito-style access token (client_id, no aud) passes', async () => {
    const { aud: _aud, ...claims } = good();
    expect(await status(await signed({ ...claims, client_id: DEV_AUDIENCE }))).toBe(404);
  });

  test.each<[string, () => JWTPayload]>([
    ['without exp', () => ({ ...good(), exp: undefined })],
    ['expired', () => ({ ...good(), exp: now() - 5 })],
    ['not yet valid (nbf)', () => ({ ...good(), nbf: now() + 600 })],
    ['issued in the future (iat)', () => ({ ...good(), iat: now() + 600 })],
    ['for another audience', () => ({ ...good(), aud: 'someone-else' })],
    ['without aud or client_id', () => ({ ...good(), aud: undefined })],
    ['with client_id of another client', () => ({ ...good(), aud: undefined, client_id: 'other' })],
    ['from another issuer', () => ({ ...good(), iss: 'https://evil.example.com/' })],
  ])('401 for a token %s', async (_name, claims) => {
    expect(await status(await signed(claims()))).toBe(401);
  });

  test('401 without a kid, or with a kid the JWKS does not hold', async () => {
    expect(await status(await signed(good(), { kid: undefined }))).toBe(401);
    expect(await status(await signed(good(), { kid: 'dev-unknown' }))).toBe(401);
  });

  test('401 for a token signed by another key under the dev kid, or with ES256', async () => {
    const { kid } = await devKey();
    const rsa = await generateKeyPair('RS256');
    const forged = await new SignJWT(good()).setProtectedHeader({ alg: 'RS256', kid }).sign(rsa.privateKey);
    expect(await status(forged)).toBe(401);
    const ec = await generateKeyPair('ES256');
    const es = await new SignJWT(good()).setProtectedHeader({ alg: 'ES256', kid }).sign(ec.privateKey);
    expect(await status(es)).toBe(401);
  });
});
