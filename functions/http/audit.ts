import { badRequest } from '../core/outcome';

const MAX_CDATA = 2048;

/**
 * C38: client data from `log-cdata` (at most 2 KiB), `kv` (`k1=v1;k2=v2`, the default) or `json`
 * (an object) per `log-cdata-format`. It goes into the audit line only.
 */
export function parseCdata(
  value: string | undefined,
  format: string | undefined,
): Record<string, unknown> | undefined {
  if (value === undefined || value === '') return undefined;
  if (Buffer.byteLength(value) > MAX_CDATA)
    throw badRequest(`log-cdata is over ${MAX_CDATA} bytes: shorten it.`, 'value');
  const f = (format ?? 'kv').trim().toLowerCase();
  if (f === 'json') {
    let v: unknown;
    try {
      v = JSON.parse(value);
    } catch {
      throw badRequest('log-cdata is not valid JSON although log-cdata-format is json.', 'value');
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw badRequest('log-cdata must be a JSON object when log-cdata-format is json.', 'value');
    return v as Record<string, unknown>;
  }
  if (f !== 'kv') throw badRequest(`log-cdata-format "${format}" is not supported: use kv or json.`, 'value');
  const out: Record<string, string> = {};
  for (const pair of value.split(';')) {
    if (pair.trim() === '') continue;
    const i = pair.indexOf('=');
    const k = i < 0 ? '' : pair.slice(0, i).trim();
    if (k === '')
      throw badRequest(
        `log-cdata entry "${pair}" is malformed: use key=value pairs separated by ';'.`,
        'value',
      );
    out[k] = pair.slice(i + 1).trim();
  }
  return out;
}
