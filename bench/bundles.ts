import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../local/paths';
import type { Section } from './report';

/** The Lambda functions of the synthesized template with their asset directories (`npm run synth`). */
export function templateFunctions(out = join(projectRoot(), 'cdk.out')) {
  const file = join(out, 'FhirBinary.template.json');
  if (!existsSync(file)) return undefined;
  const t = JSON.parse(readFileSync(file, 'utf8')) as {
    Resources: Record<
      string,
      { Type: string; Metadata?: Record<string, string>; Properties: { Handler?: string } }
    >;
  };
  return Object.entries(t.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:asset:path'])
    .map(([logicalId, r]) => ({
      logicalId,
      dir: join(out, r.Metadata!['aws:asset:path']!),
      handler: r.Properties.Handler ?? 'index.handler',
    }));
}

/** Cold-start proxy (#11): each bundle's size and the time to import it in a fresh Node process. */
export async function run(): Promise<Section> {
  const fns = templateFunctions();
  const section: Section = { title: 'Cold-start proxy: Lambda bundles', rows: [] };
  if (!fns) {
    section.notes = ['Not measured: run `npm run synth` first.'];
    return section;
  }
  for (const f of fns) {
    const file = join(f.dir, 'index.js');
    const size = statSync(file).size;
    // Import three times in fresh processes; the median is the figure (the first pays disk reads).
    const ms = [0, 1, 2]
      .map(() =>
        Number(
          String(
            spawnSync(process.execPath, [
              '-e',
              `const t=performance.now();require(${JSON.stringify(file)});console.log(performance.now()-t)`,
            ]).stdout,
          ).trim(),
        ),
      )
      .sort((a, b) => a - b)[1]!;
    section.rows.push({
      measure: `${f.logicalId.replace(/[0-9A-F]{8}$/, '')}: size, import`,
      api: `${(size / 1024).toFixed(0)} KiB, ${ms.toFixed(0)} ms`,
      goal: '≤ 1 MB, ≤ 150 ms',
      met: size <= 1_000_000 && ms <= 150,
    });
  }
  return section;
}
