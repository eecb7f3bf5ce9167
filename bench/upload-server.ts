import { startLocalApp } from '../local/app';

// The local service in its own process, so the benchmark can watch this process's memory.
startLocalApp({ port: 0, sweepMs: 0 }).then((app) => {
  process.stdout.write(`${JSON.stringify({ origin: app.origin, pid: process.pid })}\n`);
  const stop = () => void app.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
});
