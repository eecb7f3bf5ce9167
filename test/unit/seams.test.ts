import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * #10: one place for each fact, checked rather than hoped for. Each test greps the code the way a
 * reviewer would and names the file that owns the fact (docs/ARCHITECTURE.md, Layers).
 */
const root = join(__dirname, '..', '..');

function tsUnder(dir: string): string[] {
  const abs = join(root, dir);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) return tsUnder(rel);
    return rel.endsWith('.ts') ? [rel] : [];
  });
}

const read = (f: string) => readFileSync(join(root, f), 'utf8');
/** Files (outside `allowed`) whose code matches `re`, with the line of each match. */
function offenders(files: string[], re: RegExp, allowed: string[] = []): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (allowed.includes(f)) continue;
    read(f)
      .split('\n')
      .forEach((line, i) => {
        if (re.test(line)) out.push(`${f}:${i + 1}: ${line.trim()}`);
      });
  }
  return out;
}

const SERVICE = ['functions', 'local', 'clients', 'infra', 'bench'].flatMap(tsUnder);

test('the FHIR core imports no AWS, Lambda or middy module and reads no environment', () => {
  const core = tsUnder('functions/core');
  expect(core.length).toBeGreaterThan(10);
  expect(offenders(core, /from '(@aws-sdk\/|aws-lambda|@middy\/)|process\.env/)).toEqual([]);
});

test('table key prefixes, index names and the TTL attribute are spelled only in dynamo-schema.ts', () => {
  const schema = 'functions/adapters/dynamo-schema.ts';
  expect(
    offenders(SERVICE, /['"`](B|V|I|U)#|CHECKPOINT#|'(byTenant|currentByTenant|ttl)'/, [schema]),
  ).toEqual([]);
});

test('the service key prefixes are spelled only where they are defined (SERVICE_KEY_PREFIX in ids.ts, EVENTS_PREFIX, EXPORTS_PREFIX)', () => {
  const code = SERVICE.map((f) => [f, read(f).replace(/^\s*(\*|\/\/|\/\*).*$/gm, '')] as const);
  const literal = code.filter(([, text]) => /['"`]_(events|exports)\//.test(text)).map(([f]) => f);
  expect(literal).toEqual([]);
  const defined = code.filter(([, text]) => /=\s*`\$\{SERVICE_KEY_PREFIX\}(events|exports)\/`/.test(text));
  expect(defined.map(([f]) => f).sort()).toEqual([
    'functions/adapters/s3-export-files.ts',
    'functions/adapters/sns-publisher.ts',
  ]);
});

test('adapters and SDK clients of the service are built only by the composition root (wiring.ts)', () => {
  const adapters =
    /new (DynamoVersionRepository|DynamoVersionQueries|DynamoUploadSessions|S3BlobStore|S3MultipartStore|SnsPublisher)\(|(?<!function )(makeClients|makeSnsClient)\(/;
  expect(offenders(SERVICE, adapters, ['functions/wiring.ts'])).toEqual([]);
});

test('every citation of docs/ARCHITECTURE.md names a section it has', () => {
  const headings = new Set(
    [...read('docs/ARCHITECTURE.md').matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase()),
  );
  const files = [...SERVICE, ...tsUnder('test'), 'jest.config.cjs'];
  const unresolved: string[] = [];
  let cited = 0;
  for (const f of files) {
    for (const m of read(f).matchAll(/(\S*)ARCHITECTURE\.md(?:, ([A-Za-z ]+))?/g)) {
      cited++;
      if (!m[1]!.endsWith('docs/')) unresolved.push(`${f}: ${m[0]} (not docs/ARCHITECTURE.md)`);
      if (m[2] !== undefined && !headings.has(m[2].trim().toLowerCase())) unresolved.push(`${f}: ${m[0]}`);
    }
  }
  expect(cited).toBeGreaterThan(5);
  expect(unresolved).toEqual([]);
});
