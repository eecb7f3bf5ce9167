import { writeFileSync } from 'node:fs';
import { OPENAPI_FILE, renderOpenApi } from './openapi-document';

// `npm run openapi`: regenerates docs/openapi.json from the route table.
writeFileSync(OPENAPI_FILE, renderOpenApi());
console.error(`wrote ${OPENAPI_FILE}`);
