import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { projectRoot } from './paths';

/** The local stand-in of the API Gateway JWT authorizer's issuer and audience (C2, C3). */
export const DEV_ISSUER = 'http://127.0.0.1/fhir-binary-dev';
export const DEV_AUDIENCE = 'fhir-binary';
/**
 * The signature algorithm of dev tokens. API Gateway's JWT authorizer verifies RSA signatures
 * only, with the issuer's JWKS key named by the token's `kid`: dev tokens have the same shape.
 */
export const DEV_ALG = 'RS256';
const KEY_FILE = join(projectRoot(), '.local', 'dev-key-rs256.json');
/** The public key set of the dev issuer, as an issuer publishes it at its `jwks_uri` (C2). */
export const DEV_JWKS_FILE = join(projectRoot(), '.local', 'dev-jwks.json');

/** Write-then-rename, so parallel first uses never read half a file; the first writer wins. */
function writeOnce(file: string, text: string, mode: number): void {
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  if (!existsSync(file)) renameSync(tmp, file);
}

/** The public half of a JWK. */
const publicJwk = ({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub }: JWK): JWK => pub;

/**
 * The local dev signing key (RS256, with a `kid`), made once and kept in .local/ (git-ignored),
 * together with its public JWKS in `.local/dev-jwks.json`.
 */
let cached: JWK | undefined;

export async function devKey(): Promise<JWK> {
  if (cached) return cached;
  if (!existsSync(KEY_FILE)) {
    const { privateKey } = await generateKeyPair(DEV_ALG, { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: `dev-${randomUUID()}`, alg: DEV_ALG, use: 'sig' };
    writeOnce(KEY_FILE, JSON.stringify(jwk), 0o600);
  }
  const jwk = JSON.parse(readFileSync(KEY_FILE, 'utf8')) as JWK;
  const jwks = JSON.stringify({ keys: [publicJwk(jwk)] });
  if (!existsSync(DEV_JWKS_FILE) || readFileSync(DEV_JWKS_FILE, 'utf8') !== jwks)
    writeOnce(DEV_JWKS_FILE, jwks, 0o644);
  cached = jwk;
  return jwk;
}

/** The dev issuer's public key set (`{"keys": [...]}`). */
export async function devJwks(): Promise<{ keys: JWK[] }> {
  return { keys: [publicJwk(await devKey())] };
}

export interface TokenOptions {
  organizations: string[] | '*';
  scope?: string;
  sub?: string;
  expiresIn?: string;
}

export async function mintToken(o: TokenOptions): Promise<string> {
  const jwk = await devKey();
  const key = await importJWK(jwk, DEV_ALG);
  return new SignJWT({ organizations: o.organizations, scope: o.scope ?? 'system/Binary.*' })
    .setProtectedHeader({ alg: DEV_ALG, kid: jwk.kid, typ: 'JWT' })
    .setSubject(o.sub ?? 'dev-user')
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(o.expiresIn ?? '12h')
    .sign(key);
}

/**
 * Verifies a token as API Gateway's JWT authorizer does (C2, #13 item 9), against the dev JWKS:
 * a `kid` naming a key of the set, an RSA signature, `iss` equal to the issuer, `aud` containing
 * the audience or (Cognito access tokens) `client_id` equal to it, `exp` present and in the future,
 * `nbf` and `iat` (when present) not in the future. Throws when any check fails.
 */
export async function verifyToken(token: string): Promise<JWTPayload> {
  const { kid } = decodeProtectedHeader(token);
  if (typeof kid !== 'string' || kid === '') throw new Error('the token has no kid');
  const { payload } = await jwtVerify(token, createLocalJWKSet(await devJwks()), {
    issuer: DEV_ISSUER,
    algorithms: [DEV_ALG],
    requiredClaims: ['exp'],
  });
  const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!aud.includes(DEV_AUDIENCE) && payload.client_id !== DEV_AUDIENCE)
    throw new Error(`the token is not for audience ${DEV_AUDIENCE}`);
  if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000))
    throw new Error('the token was issued in the future');
  return payload;
}
