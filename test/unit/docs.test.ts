import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The documents live in the repository (#10): every rule number cited anywhere resolves to a rule
 * of docs/API.md, and nothing points outside the repository any more.
 */
const root = join(__dirname, '..', '..');
const SKIP = new Set(['node_modules', '.git', 'cdk.out', '.local', 'coverage', 'dist']);
const TEXT = /\.(ts|js|cjs|mjs|py|json|md|html|sh|ya?ml)$/;

function filesUnder(path: string): string[] {
  const abs = join(root, path);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(abs);
  } catch {
    return [];
  }
  if (st.isFile()) return TEXT.test(path) ? [path] : [];
  return readdirSync(abs)
    .filter((name) => !SKIP.has(name))
    .flatMap((name) => filesUnder(join(path, name)));
}

const SOURCES = [
  'README.md',
  'package.json',
  'docs',
  'functions',
  'local',
  'clients',
  'infra',
  'test',
  'bench',
  '.ci',
].flatMap(filesUnder);

const apiMd = readFileSync(join(root, 'docs', 'API.md'), 'utf8');
/** Rules are defined as list items `- **C12 Title.**`. */
const defined = new Set([...apiMd.matchAll(/^- \*\*C(\d+)\b/gm)].map((m) => Number(m[1])));

describe('docs/API.md', () => {
  it('defines the rules C1…Cn, each once and in order', () => {
    const order = [...apiMd.matchAll(/^- \*\*C(\d+)\b/gm)].map((m) => Number(m[1]));
    expect(order.length).toBeGreaterThanOrEqual(39);
    expect(order).toEqual(Array.from({ length: order.length }, (_, i) => i + 1));
  });

  it('every C<n> cited in the repository is a rule of docs/API.md', () => {
    expect(SOURCES.length).toBeGreaterThan(50);
    const unresolved: string[] = [];
    let citations = 0;
    for (const file of SOURCES) {
      const text = readFileSync(join(root, file), 'utf8');
      // C12, and both ends of ranges such as C28–C30 or C28-C30; not hex digits or identifiers.
      for (const m of text.matchAll(/(?<![A-Za-z0-9_#])C(\d{1,3})(?![A-Za-z0-9_])/g)) {
        citations++;
        const n = Number(m[1]);
        if (!defined.has(n)) {
          const line = text.slice(0, m.index).split('\n').length;
          unresolved.push(`${file}:${line}: C${n}`);
        }
      }
    }
    expect(citations).toBeGreaterThan(300);
    expect(unresolved).toEqual([]);
  });

  it('nothing in README, functions, local, infra or test points to the old shared folder', () => {
    const needle = ['shared', '/'].join('');
    const offenders = ['README.md', 'functions', 'local', 'clients', 'infra', 'test']
      .flatMap(filesUnder)
      .filter((f) => readFileSync(join(root, f), 'utf8').includes(needle));
    expect(offenders).toEqual([]);
  });
});
