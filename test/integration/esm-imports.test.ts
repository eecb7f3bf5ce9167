import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * #9 item 6: jest compiles the code to CommonJS, where a named import from a CommonJS-only package
 * always works; `npm start` and the CDK app run native ES modules under Node 22, where Node exposes
 * only the names its CommonJS lexer finds (`import { applyPatch } from 'fast-json-patch'` made every
 * PATCH a 500). So this test asks the real runtime, not jest:
 *  1. every named value import from a package, in every module the server, the CLIs and the stack
 *     run, must be an export Node 22's ESM loader gives for that package;
 *  2. every module that is not a program entry loads under `node --import tsx` (as `npm start`
 *     loads it), so any other ESM-only failure at link or evaluation time shows here too.
 */
const root = join(__dirname, '..', '..');
const node22 = join(root, 'node_modules', 'node', 'bin', 'node');
const DIRS = ['functions', 'local', 'clients', 'infra', 'bench'];

function tsFiles(dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) return tsFiles(rel);
    return rel.endsWith('.ts') && !rel.endsWith('.d.ts') ? [rel] : [];
  });
}

const files = DIRS.flatMap(tsFiles);

/** Files run as programs (they act on import): package.json scripts and the CDK app. */
const entries = new Set(
  [
    ...Object.values(
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>,
    ),
    JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')).app as string,
  ].flatMap((cmd) => cmd.match(/[\w./-]+\.ts\b/g) ?? []),
);

interface NamedImport {
  file: string;
  pkg: string;
  name: string;
}

const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec);
const isPackage = (spec: string) => !spec.startsWith('.') && !spec.startsWith('/') && !isBuiltin(spec);

/** Value (not type-only) names imported or re-exported by name from packages. */
function namedImports(file: string): NamedImport[] {
  const src = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest);
  const out: NamedImport[] = [];
  for (const st of src.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const pkg = st.moduleSpecifier.text;
      const clause = st.importClause;
      if (!isPackage(pkg) || !clause || clause.isTypeOnly) continue;
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) {
          if (!el.isTypeOnly) out.push({ file, pkg, name: (el.propertyName ?? el.name).text });
        }
      }
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
      const pkg = st.moduleSpecifier.text;
      if (!isPackage(pkg) || st.isTypeOnly || !st.exportClause || !ts.isNamedExports(st.exportClause))
        continue;
      for (const el of st.exportClause.elements) {
        if (!el.isTypeOnly) out.push({ file, pkg, name: (el.propertyName ?? el.name).text });
      }
    }
  }
  return out;
}

function runNode22(args: string[], input?: string) {
  const r = spawnSync(node22, args, { cwd: root, encoding: 'utf8', input, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the sources under test are found (functions, local, the stack)', () => {
  expect(files).toEqual(
    expect.arrayContaining(['functions/core/patch.ts', 'local/server.ts', 'infra/stack.ts']),
  );
  expect([...entries]).toEqual(expect.arrayContaining(['local/start.ts', 'infra/main.ts']));
  expect(existsSync(node22)).toBe(true);
});

test('every named import from a package is an export of that package under Node 22 ESM', () => {
  const imports = files.flatMap(namedImports);
  expect(imports.find((i) => i.pkg === 'jose')).toBeDefined();
  const pkgs = [...new Set(imports.map((i) => i.pkg))];
  // One Node 22 process imports each package the way `npm start` does and lists its exports.
  const script = `
    const out = {};
    for (const p of ${JSON.stringify(pkgs)}) {
      try { out[p] = Object.keys(await import(p)); } catch (e) { out[p] = 'cannot import: ' + e.message; }
    }
    process.stdout.write(JSON.stringify(out));`;
  const r = runNode22(['--input-type=module', '-'], script);
  expect(r.stderr).toBe('');
  const exported = JSON.parse(r.stdout) as Record<string, string[] | string>;
  const missing = imports
    .filter((i) => {
      const names = exported[i.pkg];
      return typeof names === 'string' || !names?.includes(i.name);
    })
    .map((i) => {
      const names = exported[i.pkg];
      return `${i.file}: { ${i.name} } from '${i.pkg}' — ${
        typeof names === 'string' ? names : `Node's ESM loader exports only ${names?.join(', ')}`
      }`;
    });
  expect(missing).toEqual([]);
});

test('every non-entry module loads under native ESM (node --import tsx, as npm start runs it)', () => {
  const modules = files.filter((f) => !entries.has(f));
  expect(modules.length).toBeGreaterThan(40);
  const script = `
    import { pathToFileURL } from 'node:url';
    const failed = [];
    for (const f of ${JSON.stringify(modules)}) {
      try { await import(pathToFileURL(f).href); } catch (e) { failed.push(f + ': ' + e.message); }
    }
    process.stdout.write(JSON.stringify(failed));
    process.exit(0);`;
  // A clean environment: no endpoint or table, as a module must not need them to load.
  const r = runNode22(['--import', 'tsx', '--input-type=module', '-'], script);
  if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
  expect(JSON.parse(r.stdout)).toEqual([]);
});

test('the check catches a named import Node does not expose (fast-json-patch, the PATCH 500)', () => {
  const r = runNode22(['--input-type=module', '-'], "import { applyPatch } from 'fast-json-patch';");
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/'applyPatch' not found|does not provide an export named 'applyPatch'/);
});
