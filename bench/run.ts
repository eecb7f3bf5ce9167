// `npm run bench`: runs each benchmark in turn; add yours to the list.
const benches: { name: string; load: () => Promise<{ run(): Promise<void> }> }[] = [
  { name: 'api', load: () => import('./api') },
  { name: 'upload', load: () => import('./upload') },
  { name: 'emitter', load: () => import('./emitter') },
];

async function main() {
  // Benchmarks in this process (the emitter) run the functions' code: no log line per operation.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const only = process.argv.slice(2);
  for (const b of benches) {
    if (only.length > 0 && !only.includes(b.name)) continue;
    console.log(`\n== bench: ${b.name}`);
    await (await b.load()).run();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
