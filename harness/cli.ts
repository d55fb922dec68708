import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUTOMATION_COMMANDS, automationCommand } from '../automation/commands.ts';
import { type RunResults, type Verdict, verdictExitCode } from '../reports/model.ts';
import { BOOLEAN_FLAGS, type Config, FLAG_NAMES, type FlagValues, loadConfig, PHASES } from './config.ts';
import { ConfigError, errorMessage, TargetUnfitError, TargetUnreachableError } from './errors.ts';
import { factsAsProperties } from './facts.ts';
import { Lab } from './lab/lab.ts';
import { removeLeftLocalTempDirs } from './local-temp.ts';
import { quoteCommand } from './quote.ts';
import { currentRunId, janitor, ResourceTracker } from './resources.ts';
import { openTarget, planEnv, planTarget, preflight } from './session.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

const HELP = `buildkit-acceptance: prove BuildKit on a riscv64 host (a board over SSH, this machine, or the lab)

Usage:
  buildkit-acceptance run [--target T] [--phase P]... [--grep PATTERN] [--report-dir DIR] [options]
  buildkit-acceptance test [vitest args]    every project: the suite's own tests, then the phases
  buildkit-acceptance doctor [--target T]   preflight: reach the target and print its facts
  buildkit-acceptance janitor [--target T] [--run ID]   remove what earlier runs left behind
  buildkit-acceptance lab up|down|status|destroy
  buildkit-acceptance lab ssh [-- COMMAND...]
  buildkit-acceptance build-binaries [--buildkit-ref REF | --source DIR] [--goarch ARCH] [--out DIR] [--fresh]
  buildkit-acceptance build-image [--target T] [--binaries DIR] [--image-repository REPO] [--push]
  buildkit-acceptance track [--repo OWNER/NAME] [--upstream moby/buildkit] [--ref BRANCH] [--dry-run]
  buildkit-acceptance track --complete vX.Y.Z --release-url URL --image-digest sha256:...
  buildkit-acceptance close-issues --repo OWNER/NAME [--results FILE [--board NAME]]... [--act] [--run-url URL]
  buildkit-acceptance github-standin --state FILE [--port N]   a local GitHub held to its API description

GitHub (track, close-issues): GITHUB_API_URL (or --github-api-url) and GITHUB_TOKEN, as Actions sets them.

Target (T): ssh://user@host[:port] | local | lab. Default: this machine if it is riscv64, else the lab.
Phases (P): ${PHASES.join(', ')} (repeatable or comma-separated; default all)

Options (each also from an environment variable or ./buildkit-acceptance.json):
  --identity-file FILE            SSH private key (BKA_IDENTITY_FILE; default ~/.ssh/id_ed25519, ssh-agent)
  --known-hosts FILE              known_hosts to verify the host key against (BKA_KNOWN_HOSTS)
  --host-key-fingerprint SHA256:… pin the host key (BKA_HOST_KEY_FINGERPRINT)
  --insecure-accept-new-host-key  accept and record a host key never seen before (never a changed one)
  --allow-non-riscv64             dry run on a target that is not riscv64
  --connect-timeout SECONDS       SSH connect + auth limit (default 10)
  --registry-mirror HOST:PORT     pull docker.io images through this mirror on the target
  --debian-mirror URL             Debian archive the image build's apt-get uses (BKA_DEBIAN_MIRROR;
                                  default: the base image's sources; the lab's pinned mirror in the lab)
  --buildkit-ref REF              BuildKit release to build and check (BKA_BUILDKIT_REF)
  --binaries DIR|ARCHIVE          validate these binaries instead of building them
  --image REF                     validate this image instead of building it
  --image-repository REPO         where build-image tags and pushes (BKA_IMAGE_REPOSITORY)
  --push                          build-image: push every tag it made
  --buildkitd-flags "FLAGS"       extra flags for every buildkitd the suite starts (BKA_BUILDKITD_FLAGS)
  --report-dir DIR                where junit.xml, summary.md, results.json go (default out/reports)
  --config FILE                   a JSON config file
  --lab-dir DIR  --lab-memory MIB  --lab-cpus N  --lab-ssh-port N  --lab-registry-port N
  --lab-debian-mirror URL  --lab-debian-mirror-port N  --lab-keep

Exit codes: 0 all passed, 1 a check failed, 2 bad usage or config, 3 the target could not be reached or is unfit.
`;

interface Parsed {
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
  grep?: string;
  push?: boolean;
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
    else if (name === '--grep') parsed.grep = takeValue();
    else if (name === '--push') parsed.push = true;
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

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function doctor(config: Config): Promise<number> {
  const plan = await planTarget(config);
  const target = openTarget(plan.config, say);
  try {
    const { facts, problems } = await preflight(target, plan.config, false);
    const props = {
      ...factsAsProperties(facts),
      'run.build': plan.buildMode,
      'run.target-origin': plan.origin,
    };
    const width = Math.max(...Object.keys(props).map((k) => k.length));
    for (const [k, v] of Object.entries(props)) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
    if (problems.length > 0) {
      for (const p of problems) say(`doctor: ${p}`);
      return EXIT.unreachable;
    }
    say(`doctor: ${target.host} is ready (${facts.arch}, Docker ${facts.dockerServer})`);
    return EXIT.ok;
  } finally {
    await target.close();
  }
}

/** Runs vitest as a child in its own process group; SIGINT/SIGTERM are forwarded, then we clean up. */
function runVitest(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: 'inherit',
      },
    );
    let interrupted = false;
    const forward = (signal: NodeJS.Signals) => {
      interrupted = true;
      say(`\n${signal}: stopping the run and cleaning up what it created ...`);
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(interrupted ? 130 : code === 0 ? EXIT.ok : signal ? 130 : EXIT.failed);
    });
  });
}

/** The verdict the reporter wrote for this run: a run that ran nothing, or lacks a phase it asked for, fails. */
function reportedExitCode(reportDir: string, runId: string): number {
  try {
    const results = JSON.parse(readFileSync(join(reportDir, 'results.json'), 'utf8')) as RunResults & {
      verdict: Verdict;
    };
    if (results.runId !== runId) throw new Error('stale');
    if (results.verdict !== 'PASSED') say(`run: ${results.verdict}`);
    return verdictExitCode(results.verdict);
  } catch {
    say(`run: no report was written to ${reportDir}: the run did not complete`);
    return EXIT.failed;
  }
}

async function run(config: Config, grep: string | undefined, requested: string[]): Promise<number> {
  const runId = currentRunId();
  const lab = new Lab(config.lab);
  const labWasRunning = (await lab.running()) !== undefined;
  const plan = await planTarget(config);
  const target = openTarget(plan.config, say);
  try {
    await preflight(target, plan.config);
  } finally {
    await target.close();
  }
  const projects = [...plan.config.phases.flatMap((p) => ['--project', p]), ...(grep ? ['-t', grep] : [])];
  const code = await runVitest(projects, {
    ...planEnv(plan),
    BKA_RUN_ID: runId,
    BKA_PHASES_REQUESTED: requested.join(','),
    ...(grep ? { BKA_GREP: grep } : {}),
  });
  const verdictCode = reportedExitCode(plan.config.reportDir, runId);
  const cleanupTarget = openTarget(plan.config, say);
  try {
    const report = await janitor(cleanupTarget, runId);
    removeLeftLocalTempDirs(runId);
    for (const f of report.failed) say(`janitor: could not remove ${f}`);
  } catch (err) {
    say(`janitor: ${errorMessage(err)}`);
  } finally {
    await cleanupTarget.close();
  }
  if (plan.origin === 'lab' && !labWasRunning && !config.lab.keep) await lab.down();
  return Math.max(code, verdictCode);
}

/** `npm test`: every project (self, then the phases); a lab this run started is shut down after it. */
async function testCommand(args: string[]): Promise<number> {
  const config = loadConfig();
  const lab = new Lab(config.lab);
  const labWasRunning = (await lab.running()) !== undefined;
  const runId = currentRunId();
  const code = Math.max(
    await runVitest(args, { BKA_RUN_ID: runId }),
    reportedExitCode(config.reportDir, runId),
  );
  if (!labWasRunning && !config.lab.keep && (await lab.running())) {
    say('test: shutting down the lab this run started (BKA_LAB_KEEP=1 keeps it)');
    await lab.down();
  }
  return code;
}

async function labCommand(config: Config, sub: string | undefined, command: string[]): Promise<number> {
  const lab = new Lab(config.lab);
  switch (sub) {
    case 'up': {
      const ep = await lab.up();
      process.stdout.write(
        `lab: up; ssh -i ${ep.identityFile} -p ${ep.port} -o UserKnownHostsFile=${ep.knownHostsFile} ${ep.user}@${ep.host}\n`,
      );
      return EXIT.ok;
    }
    case 'down': {
      const t0 = performance.now();
      await lab.down();
      process.stdout.write(`lab: down in ${((performance.now() - t0) / 1000).toFixed(1)}s\n`);
      return EXIT.ok;
    }
    case 'destroy':
      await lab.destroy();
      process.stdout.write(`lab: destroyed ${config.lab.dir}\n`);
      return EXIT.ok;
    case 'status': {
      const state = await lab.running();
      process.stdout.write(
        `state      ${state ? `running (qemu pid ${state.qemuPid}, since ${state.startedAt})` : 'stopped'}\n`,
      );
      process.stdout.write(`cache      ${config.lab.dir}: ${await lab.cacheSize()}\n`);
      const index = await lab.debianIndex();
      if (index) process.stdout.write(`index      ${index.mirror} dists/${index.name}: ${index.reason}\n`);
      if (state) {
        const ep = await lab.endpoint();
        process.stdout.write(
          `ssh        ssh://${ep.user}@${ep.host}:${ep.port} (host key ${ep.hostKeyFingerprint})\n`,
        );
        process.stdout.write(`registry   ${ep.registryFromHost} (from the VM: ${ep.registryFromGuest})\n`);
        process.stdout.write(
          `debian     ${ep.debianMirrorFromHost} (from the VM: ${ep.debianMirrorFromGuest}; pinned index)\n`,
        );
        const target = await lab.connect();
        try {
          const { facts } = await preflight(target, { ...config, allowNonRiscv64: true }, false);
          for (const [k, v] of Object.entries(factsAsProperties(facts)))
            process.stdout.write(`${k.padEnd(26)} ${v}\n`);
        } finally {
          await target.close();
        }
      }
      return EXIT.ok;
    }
    case 'ssh': {
      if (!(await lab.running()))
        throw new TargetUnreachableError('lab: the lab is not running (buildkit-acceptance lab up)');
      const ep = await lab.endpoint();
      // With a command (`lab ssh -- docker ps`), ssh runs it and exits with its status. OpenSSH joins its
      // arguments with spaces for the remote shell: quote them, so argv arrives as given.
      const remote = command.length > 0 ? [quoteCommand(command)] : [];
      const child = spawn('ssh', [...Lab.sshArgs(ep), `${ep.user}@${ep.host}`, ...remote], {
        stdio: 'inherit',
      });
      return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    }
    default:
      throw new ConfigError(`usage: lab takes up, down, status, ssh or destroy (got ${sub ?? 'nothing'})`);
  }
}

/**
 * Phase 2's build script as a command: builds the image on the target from phase 1's output (given with
 * --binaries, else built for riscv64 now), tags it by the convention, and pushes when asked.
 */
async function buildImageCommand(config: Config, push: boolean): Promise<number> {
  const { buildBinaries } = await import('../build/binaries.ts');
  const { buildImage } = await import('../build/image.ts');
  const { repositoryFor } = await import('../build/image-under-test.ts');
  const binariesDir =
    config.binaries ?? (await buildBinaries({ ref: config.buildkitRef, goarch: 'riscv64', log: say })).dir;
  if (!existsSync(join(binariesDir, 'manifest.json')))
    throw new ConfigError(
      `--binaries ${binariesDir}: build-image needs phase 1's output directory (manifest.json and the release tarball)`,
    );
  const plan = await planTarget(config);
  const target = openTarget(plan.config, say);
  const resources = new ResourceTracker(target);
  try {
    await preflight(target, plan.config);
    const repository = repositoryFor(plan.config);
    say(`build-image: building on ${target.host} for ${repository}${push ? ', then pushing' : ''} ...`);
    const built = await buildImage({
      target,
      binariesDir,
      repository,
      workDir: await resources.tempDir('build-image'),
      debianMirror: plan.config.debianMirror,
      source: plan.config.projectRepository?.url,
      cacheFromTags: push,
      push,
    });
    process.stdout.write(
      `${JSON.stringify({ tags: built.tags, imageId: built.imageId, pushed: push, digest: built.digests[built.tags[0]!], digests: built.digests, version: built.manifest.version, revision: built.manifest.revision, seconds: Math.round(built.durationMs / 1000) }, null, 2)}\n`,
    );
    return EXIT.ok;
  } finally {
    await resources.cleanup();
    await target.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    const parsed = parseArgs(argv);
    if (parsed.command === 'help') {
      process.stdout.write(HELP);
      return EXIT.ok;
    }
    if (parsed.command === 'test') return await testCommand(parsed.passthrough);
    if (AUTOMATION_COMMANDS.includes(argv[0] ?? '')) return await automationCommand(argv[0]!, argv.slice(1));
    const config = loadConfig({ flags: parsed.flags, configFile: parsed.configFile });
    switch (parsed.command) {
      case 'run':
        return await run(config, parsed.grep, [
          ...((parsed.flags.phase as string[] | undefined) ?? []),
          ...(process.env.BKA_PHASES?.split(',').filter(Boolean) ?? []),
        ]);
      case 'doctor':
        return await doctor(config);
      case 'janitor': {
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
        return await labCommand(config, parsed.positional[0], [
          ...parsed.positional.slice(1),
          ...parsed.passthrough,
        ]);
      case 'build-binaries': {
        const { buildBinaries } = await import('../build/binaries.ts');
        const out = await buildBinaries({
          ref: config.buildkitRef,
          source: parsed.source,
          goarch: parsed.goarch,
          outDir: parsed.out,
          fresh: parsed.fresh,
          versionInjection: !parsed.noVersionInjection,
          log: say,
        });
        process.stdout.write(
          `${JSON.stringify({ ...out.manifest, dir: out.dir, tarballPath: out.tarball, cached: out.cached }, null, 2)}\n`,
        );
        return EXIT.ok;
      }
      case 'build-image':
        return await buildImageCommand(config, parsed.push === true);
      default:
        throw new ConfigError(
          `usage: unknown command '${parsed.command}' (run, test, doctor, janitor, lab, build-binaries, build-image; see --help)`,
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
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
