import { startLocalApp } from './app';
import { mintToken } from './dev-auth';
import { removeEndpointFile, writeEndpointFile } from './endpoint-file';

// C3: `npm start` serves the whole API on 127.0.0.1:${PORT:-8080} against moto.
async function main() {
  const port = Number(process.env.PORT ?? 8080);
  const app = await startLocalApp({ port, log: (m) => console.error(m) });
  // C36: `npm run -s events` finds the endpoint and topic here.
  writeEndpointFile({
    origin: app.origin,
    endpoint: app.endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    topicArn: process.env.TOPIC_ARN!,
    bucketName: process.env.BUCKET_NAME!,
    pid: process.pid,
  });
  const org = 'demo';
  const base = `${app.origin}/organizations/${org}/fhir/4`;
  const token = await mintToken({ organizations: [org] });
  console.log(`FHIR Binary service (local) on ${app.origin}
AWS endpoint: ${app.endpoint}

Base URL:  ${base}
Dev token (org "${org}", scope system/Binary.*; more with: npm run -s token -- --org ORG):
${token}

Try:
  curl -i -X POST ${base}/Binary -H "Authorization: Bearer ${token}" -H "Content-Type: text/plain" --data-binary "hello"

Notifications (C32), one JSON line each:  npm run -s events -- --org ${org}

Ctrl-C stops the server and the emulator.`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.error('stopping…');
    removeEndpointFile();
    await app.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
