import { requireJsonFormat } from './media';
import type { FhirRequest, FhirResponse } from './request';

/** Where clients get tokens (SMART App Launch 2, conformance.html); from configuration. */
export interface SmartConfig {
  /** `iss` of the tokens the API accepts (the JWT authorizer's issuer). */
  issuer?: string;
  tokenEndpoint?: string;
  jwksUri?: string;
  authorizationEndpoint?: string;
}

/**
 * C27: GET [base]/.well-known/smart-configuration, public like metadata. The service accepts
 * tokens of an external authorization server (SMART Backend Services: client credentials with a
 * signed JWT assertion), so this document points there and lists the scopes the routes accept.
 */
export function smartConfiguration(req: FhirRequest, smart: SmartConfig, scopes: string[]): FhirResponse {
  requireJsonFormat(req);
  const { issuer, tokenEndpoint, jwksUri, authorizationEndpoint } = smart;
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' },
    json: {
      ...(issuer ? { issuer } : {}),
      ...(jwksUri ? { jwks_uri: jwksUri } : {}),
      ...(authorizationEndpoint ? { authorization_endpoint: authorizationEndpoint } : {}),
      ...(tokenEndpoint ? { token_endpoint: tokenEndpoint } : {}),
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      scopes_supported: scopes,
      capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
    },
  };
}
