import { parseArgs } from 'node:util';
import { mintToken } from './dev-auth';

// C3: `npm run -s token -- --org ORG [--scope "SCOPES"] [--sub NAME]` prints only a dev token.
const { values } = parseArgs({
  options: { org: { type: 'string', multiple: true }, scope: { type: 'string' }, sub: { type: 'string' } },
});
if (!values.org || values.org.length === 0) {
  console.error(
    'usage: npm run -s token -- --org ORG [--org ORG2] [--scope "system/Binary.*"] [--sub NAME]  (--org "*" for all)',
  );
  process.exit(2);
}
const orgs = values.org.includes('*') ? '*' : values.org;
mintToken({ organizations: orgs, scope: values.scope, sub: values.sub }).then((t) => console.log(t));
