/** Finding a program on this machine as a user would, and where a non-root PATH does not look. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Directories searched after PATH: a non-root user's PATH lacks the sbin ones. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The tool's path, on PATH or in an sbin directory, or undefined. */
export function findTool(tool: string): string | undefined {
  if (tool.includes('/')) return executable(tool) ? tool : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  return dirs.map((d) => join(d, tool)).find(executable);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
