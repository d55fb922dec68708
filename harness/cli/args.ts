import { AUTOMATION_COMMANDS } from '../../automation/command-flags.ts';
import { ConfigError } from '../../helpers/errors.ts';
import type { FlagValues } from '../plan/config.ts';
import { BOOLEAN_FLAGS, FLAG_NAMES } from '../plan/options.ts';

export interface Parsed {
  command: string;
  positional: string[];
  flags: FlagValues;
  configFile?: string;
  run?: string;
  source?: string;
  goarch?: string;
  out?: string;
  fresh?: boolean;
  noVersionInjection?: boolean;
  /** build-binaries: minutes each `go build` may take. */
  buildDeadline?: string;
  grep?: string;
  push?: boolean;
  /** build-deb: the Debian revision. */
  debRevision?: string;
  /** rehearse-board: the SSH run's results.json to compare with. */
  compare?: string;
  /** rehearse-board: the README's `npm test` instead of the nightly's steps. */
  npmTest?: boolean;
  passthrough: string[];
}

export function parseArgs(argv: string[]): Parsed {
  const [first = 'help', ...rest] = argv;
  const command = first === '--help' || first === '-h' ? 'help' : first;
  if (AUTOMATION_COMMANDS.includes(command)) return { command, positional: [], flags: {}, passthrough: rest };
  const parsed: Parsed = { command, positional: [], flags: {}, passthrough: [] };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (command === 'test') {
      parsed.passthrough.push(arg);
      continue;
    }
    if (arg === '--') {
      parsed.passthrough.push(...rest.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      parsed.command = 'help';
      continue;
    }
    if (!arg.startsWith('--')) {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = rest[i + 1];
      if (v === undefined || v.startsWith('--'))
        throw new ConfigError(`usage: ${name} needs a value (see --help)`);
      i++;
      return v;
    };
    if (name === '--config') parsed.configFile = takeValue();
    else if (name === '--run') parsed.run = takeValue();
    else if (name === '--source') parsed.source = takeValue();
    else if (name === '--goarch') parsed.goarch = takeValue();
    else if (name === '--out') parsed.out = takeValue();
    else if (name === '--fresh') parsed.fresh = true;
    else if (name === '--no-version-injection') parsed.noVersionInjection = true;
    else if (name === '--build-deadline') parsed.buildDeadline = takeValue();
    else if (name === '--grep') parsed.grep = takeValue();
    else if (name === '--push') parsed.push = true;
    else if (name === '--deb-revision') parsed.debRevision = takeValue();
    else if (name === '--compare') parsed.compare = takeValue();
    else if (name === '--npm-test') parsed.npmTest = true;
    else if (BOOLEAN_FLAGS.has(name))
      (parsed.flags as Record<string, unknown>)[FLAG_NAMES[name]!] = eq > 0 ? arg.slice(eq + 1) : true;
    else if (name === '--phase') {
      const prev = (parsed.flags.phase as string[] | undefined) ?? [];
      parsed.flags.phase = [...prev, ...takeValue().split(',')];
    } else if (FLAG_NAMES[name]) (parsed.flags as Record<string, unknown>)[FLAG_NAMES[name]!] = takeValue();
    else throw new ConfigError(`usage: unknown option ${name} (see --help)`);
  }
  return parsed;
}
