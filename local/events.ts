import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { readEndpointFile } from './endpoint-file';
import { LOCAL_NAMES } from './provision';
import { subscribe } from './subscriber';

const USAGE = `usage: npm run -s events -- [--org ORG]

While \`npm start\` runs, prints every notification published from now on, one JSON line each:
{"attributes": {...}, "body": ...}   (offloaded bodies are fetched from S3 and parsed)
--org ORG   only that organization's notifications (an SNS filter policy on organizationId)
AWS_ENDPOINT_URL (and TOPIC_ARN) override the endpoint \`npm start\` wrote to .local/endpoint.json.`;

function parseArgs(argv: string[]): { org?: string } {
  const out: { org?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--org' && argv[i + 1]) out.org = argv[++i];
    else if (a?.startsWith('--org=')) out.org = a.slice('--org='.length);
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}\n\n${USAGE}`);
      process.exit(2);
    }
  }
  if (out.org !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(out.org)) {
    console.error(`--org must match [A-Za-z0-9-.]{1,64} (C1), got "${out.org}"`);
    process.exit(2);
  }
  return out;
}

/** The endpoint and topic: AWS_ENDPOINT_URL wins, else what `npm start` wrote. */
async function target(): Promise<{ endpoint: string; region: string; topicArn: string }> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (endpoint) {
    let topicArn = process.env.TOPIC_ARN;
    if (!topicArn) {
      // CreateTopic is idempotent: it returns the ARN of the topic the local server provisioned.
      const sns = new SNSClient({ region, endpoint });
      topicArn = (await sns.send(new CreateTopicCommand({ Name: LOCAL_NAMES.topicName }))).TopicArn!;
      sns.destroy();
    }
    return { endpoint, region, topicArn };
  }
  const info = readEndpointFile();
  if (!info)
    throw new Error('No local server is running: start one with `npm start` (or set AWS_ENDPOINT_URL).');
  return { endpoint: info.endpoint, region: info.region, topicArn: info.topicArn };
}

// C36: prints notifications as they come, until SIGINT/SIGTERM; then unsubscribes and deletes its queue.
async function main() {
  const { org } = parseArgs(process.argv.slice(2));
  const t = await target();
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const sub = await subscribe({
    endpoint: t.endpoint,
    region: t.region,
    topicArn: t.topicArn,
    org,
    name: 'events-cli',
  });
  const stopper = new AbortController();
  let stopping = false;
  const stop = () => {
    stopping = true;
    stopper.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.error(`listening to ${t.topicArn}${org ? ` for organization ${org}` : ''} (Ctrl-C stops)`);
  try {
    while (!stopping) {
      let batch: Awaited<ReturnType<typeof sub.receive>>;
      try {
        batch = await sub.receive(10, stopper.signal);
      } catch (e) {
        if (stopping) break;
        throw e;
      }
      for (const n of batch)
        process.stdout.write(`${JSON.stringify({ attributes: n.attributes, body: n.body })}\n`);
    }
  } finally {
    await sub.close();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
