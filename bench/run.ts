// `npm run bench`: runs each benchmark in turn; add yours to the list.
const benches: { name: string; load: () => Promise<{ run(): Promise<void> }> }[] = [
  { name: 'upload', load: () => import('./upload') },
];

async function main() {
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
