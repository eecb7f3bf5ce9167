import { operations } from '../../functions/routes';
import { type E2eTarget, e2eSuite } from '../../local/e2e';
import { type NpmStart, run, type Spawned, spawnCollected, startNpm } from '../support/processes';

/**
 * #9 item 3: the end-to-end suite against the real `npm start`, spawned as a user runs it (native
 * ES modules on Node 22 through tsx, its own moto); jest only drives HTTP. The checks are
 * local/e2e.ts, the same module `npm run smoke` runs against a deployed API (#14 item 10), and
 * the last tests run that command here too. One `npm start` for the whole file.
 */
let app: NpmStart;
let events: Spawned;
const target = {} as E2eTarget;

beforeAll(async () => {
  // Audit lines (C38) on stdout tell which operations the suite reached and how they answered.
  app = await startNpm({ env: { POWERTOOLS_LOG_LEVEL: 'INFO' } });
  target.base = app.base;
  target.token = app.token;
  // `npm run -s token` prints only a token, one the running server accepts (C3).
  const read = await run(
    'npm',
    ['run', '-s', 'token', '--', '--org', 'demo', '--scope', 'system/Binary.read'],
    {
      env: app.env,
    },
  );
  target.readToken = read.stdout.trim();
  // C36: the README's notification subscriber, listening while the suite runs.
  events = spawnCollected('npm', ['run', '-s', 'events', '--', '--org', 'demo'], { env: app.env });
  const deadline = Date.now() + 60_000;
  while (!events.stderr().includes('listening')) {
    if (events.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`npm run events did not start:\n${events.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 120_000);

afterAll(async () => {
  if (events && events.child.exitCode === null) {
    events.child.kill('SIGTERM');
    await events.exited;
  }
  if (app && app.child.exitCode === null) await app.stop();
});

test('C3: npm start prints the base URL, a dev token and a curl example that work', async () => {
  expect(app.base).toBe(`${app.origin}/organizations/demo/fhir/4`);
  expect(app.output()).toContain(
    `curl -i -X POST ${app.base}/Binary -H "Authorization: Bearer ${app.token}" -H "Content-Type: text/plain" --data-binary "hello"`,
  );
  expect(target.readToken).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  const created = await fetch(`${app.base}/Binary`, {
    method: 'POST',
    body: 'hello',
    headers: { authorization: `Bearer ${app.token}`, 'content-type': 'text/plain' },
  });
  expect(created.status).toBe(201);
  const read = await fetch(created.headers.get('location')!, {
    headers: { authorization: `Bearer ${target.readToken}` },
  });
  expect(await read.text()).toBe('hello');
});

const checks = e2eSuite();

test('the suite calls every operation of functions/routes.ts and the $default route', () => {
  const covered = new Set(checks.flatMap((c) => c.covers));
  expect(operations.map((o) => o.name).filter((n) => !covered.has(n))).toEqual([]);
  expect(covered.has('fallback')).toBe(true);
  const known = new Set([...operations.map((o) => o.name), 'fallback']);
  expect([...covered].filter((n) => !known.has(n))).toEqual([]);
});

describe('e2e against npm start (local/e2e.ts)', () => {
  for (const check of checks) {
    test(`${check.rules.join(' ')}: ${check.name}`, () => check.run(target), 120_000);
  }
});

/** The audit lines (C38) npm start printed so far: operation and status of every request. */
function auditLines(): { operation: string; status: number; answeredBy?: string }[] {
  return app
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"audit"'))
    .map(
      (l) => (JSON.parse(l) as { audit: { operation: string; status: number; answeredBy?: string } }).audit,
    );
}

test('C38/C7: the suite reached every operation with a 2xx answer, and the server answered no request with a 5xx but the 501s of the contract', () => {
  const lines = auditLines();
  expect(lines.length).toBeGreaterThan(100);
  const succeeded = new Set(lines.filter((l) => l.status < 300).map((l) => l.operation));
  expect(operations.map((o) => o.name).filter((n) => !succeeded.has(n))).toEqual([]);
  expect(lines.some((l) => l.operation === 'fallback' && l.status === 501)).toBe(true);
  // 501 is the contract's answer for FHIR interactions not offered (C40); any other 5xx is a bug.
  expect(lines.filter((l) => l.status >= 500 && !(l.status === 501 && l.operation === 'fallback'))).toEqual(
    [],
  );
});

test('C32/C36: every version the suite committed is notified, to npm run -s events, and nothing else', async () => {
  type Entry = { fullUrl: string; response: { etag: string } };
  const committed = new Set<string>();
  let url: string | undefined = `${app.base}/Binary/_history?_count=1000`;
  while (url) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${app.token}` } });
    const b = (await res.json()) as { entry?: Entry[]; link: { relation: string; url: string }[] };
    for (const e of b.entry ?? [])
      committed.add(`${e.fullUrl.split('/').pop()} ${/\d+/.exec(e.response.etag)![0]}`);
    url = b.link.find((l) => l.relation === 'next')?.url;
  }
  expect(committed.size).toBeGreaterThan(20);
  const notified = () =>
    new Set(
      events
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { attributes: Record<string, string> }).attributes)
        .map((a) => `${a.resourceId} ${a.versionId}`),
    );
  const deadline = Date.now() + 60_000;
  while ([...committed].some((v) => !notified().has(v)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 250));
  expect([...committed].filter((v) => !notified().has(v))).toEqual([]);
  expect([...notified()].filter((v) => !committed.has(v))).toEqual([]);
}, 90_000);

describe('#14 item 10: npm run smoke is the same suite', () => {
  const smoke = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run('npm', ['run', '-s', 'smoke', '--', ...args], {
      env: { ...app.env, FHIR_BASE: '', FHIR_TOKEN: '', FHIR_READ_TOKEN: '', ...env },
    });

  test('against the running npm start every check passes, one line each, exit 0', async () => {
    const r = await smoke([], {
      FHIR_BASE: app.base,
      FHIR_TOKEN: app.token,
      FHIR_READ_TOKEN: target.readToken,
    });
    if (r.code !== 0) throw new Error(`npm run smoke exited ${r.code}:\n${r.stdout}${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    const summary = lines.pop();
    expect({ code: r.code, summary }).toEqual({
      code: 0,
      summary: expect.stringMatching(
        new RegExp(
          `^${checks.length} of ${checks.length} checks pass \\(0 failing, 0 skipped\\) in [\\d.]+ s against `,
        ),
      ),
    });
    expect(lines.map((l) => l.replace(/^pass\s+[\d.]+s\s+/, ''))).toEqual(checks.map((c) => c.name));
  }, 180_000);

  test('a token the server refuses fails, exit 1; no base is a usage error, exit 2; --list needs no server', async () => {
    const bad = await smoke(['--base', app.base, '--token', 'not-a-token']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL .*create FHIR JSON/m);
    expect(bad.stdout).toMatch(/^skip .*read-only token/m);
    expect(bad.stderr).toMatch(/checks failed against/);
    const usage = await smoke(['--token', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--base/);
    const list = await smoke(['--list']);
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split('\n')).toHaveLength(checks.length);
  }, 180_000);
});

test('C3: SIGTERM stops npm start and the emulator it started (exit 0)', async () => {
  expect(await app.stop()).toBe(0);
  await expect(fetch(app.base)).rejects.toThrow();
  await expect(fetch(`${app.endpoint}/moto-api/`)).rejects.toThrow();
});
