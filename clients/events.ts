import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { LOCAL_NAMES } from '../local/provision';
import { CliError, parseCommandLine, runCommand, UsageError } from './cli';
import { readEndpointFile } from './local-endpoint';
import { subscribe } from './subscriber';

/** Base64 `data` longer than this is summarized unless --full. */
const SUMMARY_CHARS = 120;

const USAGE = `usage: npm run -s events -- [--org ORG] [--full]

While \`npm start\` runs, prints every notification published from now on, one JSON line each:
{"attributes": {...}, "body": ...}   (offloaded bodies are fetched from S3 and parsed)
--org ORG   only that organization's notifications (an SNS filter policy on organizationId)
--full      print each Binary's data whole; by default data over ${SUMMARY_CHARS} base64 characters
            is shortened to its start and its size in bytes
-h, --help  this text
AWS_ENDPOINT_URL (and TOPIC_ARN) override the endpoint \`npm start\` wrote to .local/endpoint.json.
Ctrl-C stops; the temporary queue and subscription are removed.`;

/** The body as printed: a Binary's large `data` shortened to its start and size (C36 bodies are whole). */
function summarize(body: unknown, full: boolean): unknown {
  if (full || body === null || typeof body !== 'object') return body;
  const data = (body as { data?: unknown }).data;
  if (typeof data !== 'string' || data.length <= SUMMARY_CHARS) return body;
  const bytes = Buffer.from(data, 'base64').length;
  return { ...body, data: `${data.slice(0, 40)}…(${bytes} bytes; --full prints all)` };
}

function options(): { org?: string; full: boolean } | undefined {
  const { values } = parseCommandLine({
    options: {
      org: { type: 'string' },
      full: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return undefined;
  }
  if (values.org !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(values.org))
    throw new UsageError(`--org must match [A-Za-z0-9-.]{1,64} (C1), got "${values.org}".`);
  return { org: values.org, full: values.full === true };
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
    throw new CliError(
      'no local server is running (npm start records itself in .local/endpoint.json): start one with `npm start`, or set AWS_ENDPOINT_URL.',
    );
  return { endpoint: info.endpoint, region: info.region, topicArn: info.topicArn };
}

// C36: prints notifications as they come, until SIGINT/SIGTERM; then unsubscribes and deletes its queue.
async function main() {
  const o = options();
  if (!o) return;
  const { org, full } = o;
  const t = await target();
  endpoint = t.endpoint;
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
        process.stdout.write(
          `${JSON.stringify({ attributes: n.attributes, body: summarize(n.body, full) })}\n`,
        );
    }
  } finally {
    await sub.close();
  }
}

let endpoint: string | undefined;
runCommand('events', main, () => endpoint);
