import { parseArgs } from 'node:util';
import { devJwks, mintToken } from './dev-auth';

// C3: `npm run -s token -- --org ORG [--scope "SCOPES"] [--sub NAME]` prints only a dev token;
// `--jwks` prints the dev issuer's public key set instead (also in .local/dev-jwks.json).
const { values } = parseArgs({
  options: {
    org: { type: 'string', multiple: true },
    scope: { type: 'string' },
    sub: { type: 'string' },
    jwks: { type: 'boolean' },
  },
});
if (values.jwks) {
  devJwks().then((k) => console.log(JSON.stringify(k)));
} else if (!values.org || values.org.length === 0) {
  console.error(
    'usage: npm run -s token -- --org ORG [--org ORG2] [--scope "system/Binary.*"] [--sub NAME]  (--org "*" for all)\n' +
      '       npm run -s token -- --jwks   (the public keys dev tokens are signed with)',
  );
  process.exit(2);
} else {
  const orgs = values.org.includes('*') ? '*' : values.org;
  mintToken({ organizations: orgs, scope: values.scope, sub: values.sub }).then((t) => console.log(t));
}
