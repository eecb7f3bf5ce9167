import { readFileSync } from 'node:fs';
import { routes } from '../../functions/routes';
import { OPENAPI_FILE, openApiDocument, renderOpenApi } from '../../scripts/openapi-document';

/** #10 item 8: docs/openapi.json is the route table as OpenAPI 3.1, and the committed file is current. */
type Op = {
  operationId: string;
  summary: string;
  parameters?: { name: string; in: string }[];
  security: unknown[];
  responses: Record<string, unknown>;
};
const doc = openApiDocument() as {
  openapi: string;
  paths: Record<string, Record<string, Op>>;
  components: Record<string, Record<string, unknown>>;
};

test('the committed docs/openapi.json is what `npm run openapi` generates now', () => {
  expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(renderOpenApi());
});

test('OpenAPI 3.1: every route once, unique operation ids, path parameters declared, security per access', () => {
  expect(doc.openapi).toBe('3.1.0');
  const ids = new Set<string>();
  let operations = 0;
  for (const r of routes) {
    const op = doc.paths[r.path]?.[r.method.toLowerCase()];
    expect(op).toBeDefined();
    expect(ids.has(op!.operationId)).toBe(false);
    ids.add(op!.operationId);
    expect(op!.summary).not.toBe(r.name); // every operation is described
    for (const [, name] of r.path.matchAll(/\{(\w+)\}/g))
      expect(op!.parameters).toContainEqual(expect.objectContaining({ name, in: 'path' }));
    expect(op!.security).toEqual(r.access === 'public' ? [] : [{ bearer: [] }]);
    expect(op!.responses.default).toBeDefined();
  }
  for (const p of Object.values(doc.paths)) operations += Object.keys(p).length;
  expect(operations).toBe(routes.length);
});

test('every $ref resolves inside the document', () => {
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
  expect(refs.length).toBeGreaterThan(0);
  for (const [, kind, name] of refs) expect(doc.components[kind!]?.[name!]).toBeDefined();
});
