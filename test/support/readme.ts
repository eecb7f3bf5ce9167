/**
 * The README's shell examples as one bash script (test/integration/readme.test.ts runs it).
 *
 * - Every ```sh block runs, in order, in one shell, unless the line just before its fence is
 *   `<!-- readme-test: skip: REASON -->` (a reason is required).
 * - A command whose last line ends in `# → NNN` must answer HTTP NNN; any other curl must answer
 *   below 400. A `curl` shell function checks it (`--write-out` to stderr), so the commands run
 *   exactly as written.
 */
export interface ReadmeScript {
  script: string;
  /** Blocks run, with their first line in README.md. */
  blocks: number[];
  skipped: { line: number; reason: string }[];
  /** Commands with an expected status. */
  checks: number;
}

const SKIP = /^<!--\s*readme-test:\s*skip(?::\s*(.*?))?\s*-->$/;
const STATUS = /#\s*→\s*(\d{3})\s*$/;

export const PRELUDE = String.raw`set -eo pipefail
__want= __line=0
trap 'echo "README.md:$__line: the command there failed (exit $?)" >&2' ERR
curl() {
  local err rc=0 code
  err=$(mktemp)
  # --silent --show-error: what curl prints on a terminal (no progress meter), errors kept.
  command curl --silent --show-error --write-out '%{stderr}%{http_code}\n' "$@" 2>"$err" || rc=$?
  code=$(tail -n 1 "$err"); sed '$d' "$err" >&2; rm -f "$err"
  if [ -n "$__want" ]; then
    if [ "$code" != "$__want" ]; then echo "README: expected HTTP $__want, got $code from: curl $*" >&2; return 99; fi
  elif [ "$code" -ge 400 ]; then
    echo "README: HTTP $code (not annotated) from: curl $*" >&2; return 98
  fi
  return $rc
}
`;

export function readmeScript(markdown: string): ReadmeScript {
  const lines = markdown.split('\n');
  const out: string[] = [PRELUDE];
  const blocks: number[] = [];
  const skipped: ReadmeScript['skipped'] = [];
  let checks = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    const body = lines.slice(start, end);
    const skip = SKIP.exec((lines[i - 1] ?? '').trim());
    i = end;
    if (skip) {
      if (!skip[1]) throw new Error(`README.md:${start}: a readme-test skip needs a reason`);
      skipped.push({ line: start, reason: skip[1] });
      continue;
    }
    blocks.push(start);
    // Logical commands: physical lines joined by a trailing backslash, pipe or && / ||, or by an
    // open single-quoted string.
    for (let j = 0; j < body.length; j++) {
      const first = j;
      let quotes = (body[j]!.match(/'/g) ?? []).length;
      while (j < body.length - 1 && (/(\\|\||&&)\s*$/.test(body[j]!) || quotes % 2 === 1)) {
        j++;
        quotes += (body[j]!.match(/'/g) ?? []).length;
      }
      const command = body.slice(first, j + 1);
      const want = STATUS.exec(command.at(-1)!);
      out.push(`__line=${start + first + 1}`);
      if (want) {
        checks++;
        out.push(`__want=${want[1]}`, ...command, '__want=');
      } else out.push(...command);
    }
  }
  return { script: out.join('\n'), blocks, skipped, checks };
}
