import type { FhirRequest } from './request';
import { header } from './request';

export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

/** C8: the `return` preference, if any. */
export function preferReturn(req: FhirRequest): PreferReturn | undefined {
  const m = /(?:^|[;,\s])return\s*=\s*"?(minimal|representation|OperationOutcome)"?/i.exec(
    header(req, 'prefer') ?? '',
  );
  if (!m) return undefined;
  const v = m[1]!.toLowerCase();
  return v === 'minimal' ? 'minimal' : v === 'representation' ? 'representation' : 'OperationOutcome';
}

/** `Prefer: handling=strict` (C25). */
export const preferStrict = (req: FhirRequest) =>
  /(?:^|[;,\s])handling\s*=\s*"?strict"?/i.test(header(req, 'prefer') ?? '');
