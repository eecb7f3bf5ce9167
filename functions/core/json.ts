import { badRequest } from './outcome';

/**
 * Deepest nesting of arrays and objects a request body may have (C39). A Binary needs about six
 * levels (meta.tag[].extension[].valueCodeableConcept.coding[]); anything near a recursion limit
 * (JSON.stringify, deep copies, the DynamoDB marshaller) is refused before it is parsed.
 */
export const MAX_JSON_DEPTH = 64;

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a JSON request body as strict UTF-8 and parses it, refusing nesting deeper than
 * MAX_JSON_DEPTH with 400 (C39). `what` names the body in diagnostics ("The JSON Patch").
 * Returns undefined for text that is not JSON, so callers keep their own C11/C22 messages.
 */
export function parseJsonBody(body: Uint8Array, what: string): { value: unknown } | undefined {
  let text: string;
  try {
    text = fatalUtf8.decode(body);
  } catch {
    throw badRequest(`${what} is not valid UTF-8: send JSON encoded as UTF-8.`, 'structure');
  }
  const depth = maxDepth(text);
  if (depth > MAX_JSON_DEPTH)
    throw badRequest(
      `${what} nests arrays and objects ${depth > 10_000 ? 'over 10,000' : depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted.`,
      'structure',
    );
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/**
 * The deepest bracket nesting of a JSON text, in one linear pass that skips string contents
 * (escapes included). Stops counting past 10,001: the exact depth of a hostile body is no use.
 */
export function maxDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > 10_000) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
