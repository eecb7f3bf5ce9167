import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository root, found upward from the working directory (npm scripts and jest run there).
 * Works the same under tsx (ESM) and jest (CommonJS), where `import.meta` and `__dirname` differ.
 */
export function projectRoot(): string {
  let dir = process.cwd();
  while (!existsSync(join(dir, 'local', 'moto_serial.py'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}
