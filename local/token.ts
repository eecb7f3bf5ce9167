import { parseCommandLine, runCommand, UsageError } from '../clients/cli';
import { devJwks, mintToken } from './dev-auth';

// C3: `npm run -s token -- --org ORG [--scope "SCOPES"] [--sub NAME]` prints only a dev token;
// `--jwks` prints the dev issuer's public key set instead (also in .local/dev-jwks.json).
const USAGE = `usage: npm run -s token -- --org ORG [--org ORG2] [--scope "system/Binary.*"] [--sub NAME]
       npm run -s token -- --jwks

Prints a dev token (12 h) the local server (npm start) accepts, signed with the key in .local/.
--org ORG      an organization the token may address (repeat for several; "*" for all)
--scope S      SMART scopes, space-separated (default "system/Binary.*"; e.g. "system/Binary.read")
--sub NAME     the token's subject, shown in the audit log (default dev-user)
--jwks         print the public key set dev tokens are signed with instead
-h, --help     this text`;

async function main() {
  const { values } = parseCommandLine({
    options: {
      org: { type: 'string', multiple: true },
      scope: { type: 'string' },
      sub: { type: 'string' },
      jwks: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.jwks) {
    process.stdout.write(`${JSON.stringify(await devJwks())}\n`);
    return;
  }
  if (!values.org || values.org.length === 0) throw new UsageError('give --org ORG.');
  const orgs = values.org.includes('*') ? '*' : values.org;
  process.stdout.write(`${await mintToken({ organizations: orgs, scope: values.scope, sub: values.sub })}\n`);
}

runCommand('token', main);
