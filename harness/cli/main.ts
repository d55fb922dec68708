/**
 * The command line: parses once, dispatches to harness/cli/* (run, test, doctor, janitor, lab, builds)
 * or automation/commands.ts (track, close-issues, github-standin), and turns errors into exit codes.
 */
import { join } from 'node:path';
import { AUTOMATION_COMMANDS } from '../../automation/command-flags.ts';
import { ConfigError, errorMessage, TargetUnfitError, TargetUnreachableError } from '../../helpers/errors.ts';
import { loadConfig } from '../plan/config.ts';
import { optionFromEnv } from '../plan/options.ts';
import { backgroundWorkSettled } from '../target/background-work.ts';
import { parseArgs } from './args.ts';
import { EXIT, HELP } from './help.ts';
import { say } from './say.ts';

// Each command loads what it needs when it runs (below): a CLI start on an emulated riscv64 costs
// seconds per module graph, and the workflows' `track` and `close-issues` need none of the harness.
export { parseArgs } from './args.ts';
export { EXIT } from './help.ts';

export async function main(argv: string[]): Promise<number> {
  try {
    const parsed = parseArgs(argv);
    if (parsed.command === 'help') {
      process.stdout.write(HELP);
      return EXIT.ok;
    }
    if (parsed.command === 'test') return await (await import('./run.ts')).testCommand(parsed.passthrough);
    if (AUTOMATION_COMMANDS.includes(argv[0] ?? '')) {
      const { automationCommand } = await import('../../automation/commands.ts');
      return await automationCommand(argv[0]!, argv.slice(1));
    }
    const config = loadConfig({ flags: parsed.flags, configFile: parsed.configFile });
    switch (parsed.command) {
      case 'run': {
        const { run } = await import('./run.ts');
        return await run(config, parsed.grep, [
          ...((parsed.flags.phase as string[] | undefined) ?? []),
          ...(optionFromEnv('phase')?.split(',').filter(Boolean) ?? []),
        ]);
      }
      case 'doctor':
        return await (await import('./doctor.ts')).doctor(config);
      case 'janitor': {
        const { openTarget, planTarget } = await import('../run/session.ts');
        const { janitor } = await import('../docker/janitor.ts');
        const { removeLeftLocalTempDirs } = await import('../target/local-temp.ts');
        const plan = await planTarget(config);
        const target = openTarget(plan.config, say);
        try {
          const report = await janitor(target, parsed.run);
          report.removed.push(...removeLeftLocalTempDirs(parsed.run));
          process.stdout.write(
            `janitor: removed ${report.removed.length}${report.removed.length ? `: ${report.removed.join(', ')}` : ''}\n`,
          );
          for (const f of report.failed) say(`janitor: could not remove ${f}`);
          return report.failed.length ? EXIT.failed : EXIT.ok;
        } finally {
          await target.close();
        }
      }
      case 'lab':
        return await (await import('./lab-command.ts')).labCommand(config, parsed.positional[0], [
          ...parsed.positional.slice(1),
          ...parsed.passthrough,
        ]);
      case 'build-binaries': {
        const { buildBinaries } = await import('../../build/binaries.ts');
        const out = await buildBinaries({
          ref: config.buildkitRef,
          source: parsed.source,
          goarch: parsed.goarch,
          outDir: parsed.out,
          fresh: parsed.fresh,
          versionInjection: !parsed.noVersionInjection,
          ...(parsed.buildDeadline === undefined ? {} : { deadlineMs: minutes(parsed.buildDeadline) }),
          log: say,
        });
        process.stdout.write(
          `${JSON.stringify({ ...out.manifest, dir: out.dir, tarballPath: out.tarball, cached: out.cached }, null, 2)}\n`,
        );
        return EXIT.ok;
      }
      case 'build-image':
        return await (await import('./build-commands.ts')).buildImageCommand(config, parsed.push === true);
      case 'build-deb':
        return await (await import('./build-commands.ts')).buildDebCommand(
          config,
          parsed.out,
          parsed.debRevision,
        );
      case 'rehearse-board': {
        const { rehearseBoard } = await import('./rehearse-board.ts');
        return await rehearseBoard(config, {
          phases: (parsed.flags.phase as string[] | undefined) ?? [],
          compare: parsed.compare,
          npmTest: parsed.npmTest,
          reportDir: parsed.flags.reportDir ? config.reportDir : join(config.reportDir, 'board-rehearsal'),
        });
      }
      default:
        throw new ConfigError(
          `usage: unknown command '${parsed.command}' (run, test, doctor, janitor, lab, build-binaries, build-image, build-deb, rehearse-board; see --help)`,
        );
    }
  } catch (err) {
    if (err instanceof Error && err.name === 'BuildError') {
      say(`build: ${err.message}`);
      return EXIT.failed;
    }
    if (err instanceof ConfigError) {
      say(err.message);
      return EXIT.usage;
    }
    if (err instanceof TargetUnreachableError || err instanceof TargetUnfitError) {
      say(err.message);
      return EXIT.unreachable;
    }
    say(`error: ${errorMessage(err)}`);
    return EXIT.failed;
  }
}

if (process.argv[1] && /buildkit-acceptance(\.mjs)?$|cli\.ts$/.test(process.argv[1])) {
  // Output piped into a reader that stopped early (`| head`): the reader has what it wanted; no trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  // A lab start may have left the other platforms' base images being made, and the amd64 binaries
  // building: finished (or recorded as failed) before the process ends, so that the next run has them.
  main(process.argv.slice(2))
    .then(async (code) => {
      // Interrupted: not waiting minutes; the trees are killed with this process, and made next time.
      if (code !== 130) await backgroundWorkSettled();
      return code;
    })
    .then((code) => process.exit(code));
}

/** A positive number of minutes (`--build-deadline`), in ms; anything else is a usage error. */
function minutes(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(n > 0))
    throw new ConfigError(`usage: --build-deadline takes minutes, a positive number (got '${value}')`);
  return n * 60_000;
}
