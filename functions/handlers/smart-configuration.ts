import { smartConfiguration } from '../core/smart';
import { fhirHandler } from '../http/handler';
import { routes, scopesFor } from '../routes';

/** Every scope some route accepts (C2), from the one route table. */
const scopes = [...new Set(routes.flatMap((r) => scopesFor(r.access)))];

export const handler = fhirHandler('smart-configuration', 'public', async (req, deps) =>
  smartConfiguration(req, deps.appConfig.smart, scopes),
);
