import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type NpmStart, root, spawnCollected, startNpm } from '../support/processes';
import { readmeScript } from '../support/readme';

/**
 * #10 item 8: a newcomer follows the README top to bottom. Its shell examples run in order, as
 * written, against a fresh `npm start` (its own moto, as a user gets it), in a folder inside the
 * repository; every annotated status (`# → 201`) is checked and no other curl may answer 4xx/5xx.
 */
test('the README explains every skipped example, and annotates statuses', () => {
  const r = readmeScript(readFileSync(join(root, 'README.md'), 'utf8'));
  expect(r.blocks.length).toBeGreaterThanOrEqual(8);
  expect(r.checks).toBeGreaterThanOrEqual(10);
  for (const s of r.skipped) expect(s.reason.length).toBeGreaterThan(10);
});

test('the README examples run in order against a fresh npm start', async () => {
  const { script } = readmeScript(readFileSync(join(root, 'README.md'), 'utf8'));
  mkdirSync(join(root, '.local'), { recursive: true });
  const work = mkdtempSync(join(root, '.local', 'readme-'));
  // npm start records itself in the work folder, where the README's CLIs find it.
  let app: NpmStart | undefined;
  try {
    app = await startNpm({ env: { LOCAL_ENDPOINT_FILE: join(work, 'endpoint.json') } });
    const shell = spawnCollected('bash', ['-c', script], { cwd: work, env: app.env });
    const code = await shell.exited;
    if (code !== 0) {
      // The output ends with the README line of the command that failed.
      throw new Error(`README examples failed (exit ${code}):
${shell.output().slice(-4000)}`);
    }
  } finally {
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}, 300_000);
