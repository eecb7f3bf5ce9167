import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { MOTO_VERSION } from '../local/moto';
import { projectRoot } from '../local/paths';
import { render, type Section } from './report';

// `npm run bench [name…]`: runs each benchmark in turn and writes bench/results.md; add yours here.
const benches: { name: string; load: () => Promise<{ run(): Promise<Section | Section[]> }> }[] = [
  { name: 'api', load: () => import('./api') },
  { name: 'upload', load: () => import('./upload') },
  { name: 'emitter', load: () => import('./emitter') },
  { name: 'bundles', load: () => import('./bundles') },
];

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main() {
  // Benchmarks in this process (the emitter) run the functions' code: no log line per operation.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const only = process.argv.slice(2);
  const started = new Date();
  const loadAtStart = loadavg();
  const sections: Section[] = [];
  for (const b of benches) {
    if (only.length > 0 && !only.includes(b.name)) continue;
    console.log(`== bench: ${b.name}`);
    const t = performance.now();
    const got = [await (await b.load()).run()].flat();
    for (const s of got)
      s.notes = [
        ...(s.notes ?? []),
        `(${b.name}: ${((performance.now() - t) / 1000).toFixed(0)} s, load average after ${loadavg()})`,
      ];
    console.log(render(got).join('\n'));
    sections.push(...got);
  }
  const quick = process.env.BENCH_QUICK === '1';
  const text = [
    '# Benchmark results',
    '',
    `Run ${started.toISOString()}${quick ? ' with BENCH_QUICK=1 (small counts: indicative only)' : ''}${only.length ? ` (only: ${only.join(', ')})` : ''}.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, load average at start ${loadAtStart}. Node ${process.version}, moto ${MOTO_VERSION}.`,
    'API = the local server (`npm start`: the Lambda handlers behind the local gateway) over HTTP; direct SDK = the same storage calls made with the AWS SDK on the same emulator. Absolute times depend on the machine; the ratios are the result.',
    '',
    ...render(sections),
  ].join('\n');
  writeFileSync(join(projectRoot(), 'bench', 'results.md'), text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
