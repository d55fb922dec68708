/**
 * The automation's commands and their flags (`github-standin`, `track`, `close-issues`), parsed: apart
 * from the commands themselves, so that the CLI can tell one without loading them.
 */
import { ConfigError } from '../helpers/errors.ts';

export type Flags = Record<string, string[]>;

const VALUE_FLAGS: Record<string, string[]> = {
  'github-standin': ['--state', '--port', '--host'],
  track: [
    '--repo',
    '--upstream',
    '--ref',
    '--workflow',
    '--github-api-url',
    '--complete',
    '--release-url',
    '--image-digest',
    '--run-url',
  ],
  'close-issues': ['--repo', '--results', '--board', '--run-url', '--github-api-url', '--not-before'],
};
const BOOL_FLAGS: Record<string, string[]> = {
  'github-standin': [],
  track: ['--dry-run'],
  'close-issues': ['--dry-run', '--act'],
};

export const AUTOMATION_COMMANDS = Object.keys(VALUE_FLAGS);

export function parseFlags(command: string, argv: string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOL_FLAGS[command]?.includes(name)) flags[name] = ['true'];
    else if (VALUE_FLAGS[command]?.includes(name)) {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new ConfigError(`usage: ${name} needs a value`);
      flags[name] = [...(flags[name] ?? []), v];
    } else throw new ConfigError(`usage: ${command} does not take ${arg} (see --help)`);
  }
  return flags;
}
