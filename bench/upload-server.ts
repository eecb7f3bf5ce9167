import { wiring } from '../functions/wiring';
import { startLocalApp } from '../local/app';

// The local service in its own process, so the benchmark can watch this process's memory.
startLocalApp({ port: 0, sweepMs: 0 }).then((app) => {
  const info = {
    origin: app.origin,
    pid: process.pid,
    endpoint: process.env.AWS_ENDPOINT_URL,
    bucket: wiring().appConfig.bucketName,
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  const stop = () => void app.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
});
