import { parseCommandLine, runCommand, UsageError } from '../clients/cli';
import { mintToken } from './dev-auth';

// C3: `npm run -s token -- --org ORG [--scope "SCOPES"] [--sub NAME]` prints only a dev token.
const USAGE = `usage: npm run -s token -- --org ORG [--org ORG2] [--scope "system/Binary.*"] [--sub NAME]

Prints a dev token (12 h) the local server (npm start) accepts, signed with the key in .local/.
--org ORG      an organization the token may address (repeat for several; "*" for all)
--scope S      SMART scopes, space-separated (default "system/Binary.*"; e.g. "system/Binary.read")
--sub NAME     the token's subject, shown in the audit log (default dev-user)
-h, --help     this text`;

async function main() {
  const { values } = parseCommandLine({
    options: {
      org: { type: 'string', multiple: true },
      scope: { type: 'string' },
      sub: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.org || values.org.length === 0) throw new UsageError('give --org ORG.');
  const orgs = values.org.includes('*') ? '*' : values.org;
  process.stdout.write(`${await mintToken({ organizations: orgs, scope: values.scope, sub: values.sub })}\n`);
}

runCommand('token', main);
