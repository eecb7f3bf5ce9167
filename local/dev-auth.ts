import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { projectRoot } from './paths';

/** The local stand-in of the API Gateway JWT authorizer's issuer and audience (C2, C3). */
export const DEV_ISSUER = 'http://127.0.0.1/fhir-binary-dev';
export const DEV_AUDIENCE = 'fhir-binary';
const KEY_FILE = join(projectRoot(), '.local', 'dev-key.json');

/** The local dev signing key (ES256), made once and kept in .local/ (git-ignored). */
export async function devKey(): Promise<JWK> {
  if (existsSync(KEY_FILE)) return JSON.parse(readFileSync(KEY_FILE, 'utf8')) as JWK;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  mkdirSync(join(KEY_FILE, '..'), { recursive: true });
  // Write-then-rename, so parallel first uses never read half a file.
  const tmp = `${KEY_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(jwk), { mode: 0o600 });
  if (!existsSync(KEY_FILE)) renameSync(tmp, KEY_FILE);
  return JSON.parse(readFileSync(KEY_FILE, 'utf8')) as JWK;
}

export interface TokenOptions {
  organizations: string[] | '*';
  scope?: string;
  sub?: string;
  expiresIn?: string;
}

export async function mintToken(o: TokenOptions): Promise<string> {
  const key = await importJWK(await devKey(), 'ES256');
  return new SignJWT({ organizations: o.organizations, scope: o.scope ?? 'system/Binary.*' })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject(o.sub ?? 'dev-user')
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(o.expiresIn ?? '12h')
    .sign(key);
}

/** Verifies a dev token like the API Gateway JWT authorizer would; throws when invalid. */
export async function verifyToken(token: string): Promise<JWTPayload> {
  const jwk = await devKey();
  const { d: _private, ...pub } = jwk;
  const key = await importJWK(pub, 'ES256');
  const { payload } = await jwtVerify(token, key, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE });
  return payload;
}
