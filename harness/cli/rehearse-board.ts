/**
 * `rehearse-board`: the suite run inside the lab VM exactly as the riscv64 runner runs it. As the VM's
 * `runner` user: Node from Debian (through the runner's `sudo apt-get`), a fresh copy of this checkout,
 * `npm ci` from the lock, then the nightly workflow's own `doctor` and `acceptance` steps, read from
 * nightly-acceptance.yml, with the target local. Its report comes back to this machine, and with
 * `--compare` (the SSH run's results.json) each difference of verdict, count or check state is named
 * with why. The VM reaches the registries through this machine's network (its CAs are in the VM's trust
 * store, provisioned), and docker.io and Debian through the lab's registry and mirror, as a board has
 * its own.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { stepEnv, stepScript, workflowArgv } from '../../automation/workflow-commands.ts';
import { formatDuration } from '../../helpers/command-result.ts';
import { quoteCommand } from '../../helpers/quote.ts';
import { allTests, counts, type RunResults, verdict, verdictExitCode } from '../../reports/model.ts';
import { comparedPhases, compareRuns } from '../../reports/run-comparison.ts';
import { Lab } from '../lab/lab.ts';
import { Progress } from '../lab/progress.ts';
import { type Config, PHASES } from '../plan/config.ts';
import { localTempDir } from '../target/local-temp.ts';
import { currentRunId, ResourceTracker } from '../target/resources.ts';
import type { SshTarget } from '../target/ssh-target.ts';
import { EXIT } from './help.ts';
import { closeWithNightlyStep, statesLine, TRACKING_ISSUES } from './rehearsal-closure.ts';
import { say } from './say.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORKFLOW = 'nightly-acceptance.yml';
/** The board name the rehearsal reports under (the nightly's matrix.board.name). */
const BOARD = 'lab-rehearsal';

export interface RehearsalOptions {
  phases: string[];
  /** The SSH run's results.json to compare with. */
  compare?: string;
  /** Where the rehearsal's reports land on this machine. */
  reportDir: string;
  /**
   * Run the README's test command (`npm test`: the self tests, then every phase) instead of the
   * nightly's steps, as a user on the board first runs it.
   */
  npmTest?: boolean;
}

/**
 * A runner started as a systemd service has no login session: no XDG_RUNTIME_DIR, no session bus. SSH
 * gives the rehearsal one (pam_systemd), so each step drops them, as the service's environment lacks them.
 */
const AS_A_SERVICE = ['env', '-u', 'XDG_RUNTIME_DIR', '-u', 'DBUS_SESSION_BUS_ADDRESS'];

/** argv running `script` in a login-less bash, as a runner service runs a step. */
const serviceShell = (script: string, ...bashFlags: string[]) => [
  ...AS_A_SERVICE,
  'bash',
  '--noprofile',
  '--norc',
  ...bashFlags,
  '-c',
  script,
];

/** Runs `script` as the VM's runner in a login-less shell (as a service runs it), failing with evidence. */
function inVm(
  vm: SshTarget,
  script: string,
  what: string,
  timeoutMs: number,
  env: Record<string, string> = {},
) {
  return vm.exec(serviceShell(script, '-euo', 'pipefail'), {
    timeoutMs,
    env,
    context: `board rehearsal: ${what}`,
  });
}

export async function rehearseBoard(config: Config, options: RehearsalOptions): Promise<number> {
  const startedAt = new Date().toISOString();
  const lab = new Lab(config.lab);
  const wasRunning = (await lab.running()) !== undefined;
  const ep = await lab.up();
  const vm = await lab.connect();
  const resources = new ResourceTracker(vm);
  const progress = new Progress('rehearse');
  const step = <T>(label: string, work: () => Promise<T>) => progress.step(label, work);
  try {
    await step('Node and Go from Debian (sudo apt-get as runner)', () => ensureBoardPackages(vm));
    const home = (await vm.exec(['sh', '-c', 'echo "$HOME"'])).stdout.trim();
    const checkout = `${home}/${resources.name('checkout')}`;
    resources.defer(`checkout ${checkout}`, () => vm.exec(['rm', '-rf', checkout], { reject: false }));
    await step('a fresh copy of the checkout', () => copyCheckout(vm, checkout));
    if (options.npmTest) {
      // The README's setup, as written (`npm ci`, and the Debian packages through the runner's sudo).
      const setup = await step('bash scripts/setup.sh (the README)', () =>
        vm.exec(serviceShell(`cd ${checkout} && bash scripts/setup.sh`), {
          reject: false,
          timeoutMs: 40 * 60_000,
          context: 'board rehearsal: bash scripts/setup.sh',
        }),
      );
      process.stderr.write(setup.stdout + setup.stderr);
      if (setup.failed) {
        say(`rehearse: scripts/setup.sh failed (exit ${setup.exitCode}): the README's command stops there`);
        return EXIT.failed;
      }
    } else {
      // The nightly's own install step (`npm ci`), as written.
      const install = stepScript(WORKFLOW, 'install');
      await step(`install: ${install.trim()}`, () =>
        inVm(vm, `cd ${checkout} && ${install}`, install, 40 * 60_000),
      );
    }
    // The runner's own network, as the lab gives it: docker.io and Debian through the lab's registry and
    // mirror (a board reaches Docker Hub and Debian itself); the binaries given, when given.
    const env: Record<string, string> = {
      BKA_REGISTRY_MIRROR: ep.registryFromGuest,
      BKA_DEBIAN_MIRROR: ep.debianMirrorFromGuest,
    };
    // Phase 1's native build under TCG takes hours: the rehearsal is given the cross-built binaries (the
    // build script's own riscv64 build, cached), as `--binaries` gives them to a board's run.
    const needsBinaries = options.phases.length === 0 || options.phases.some((p) => p !== 'release-tracking');
    const binaries = config.binaries ?? (needsBinaries ? await crossBuilt(config.buildkitRef) : undefined);
    if (binaries) env.BKA_BINARIES = await uploadBinaries(vm, binaries, `${checkout}/.rehearsal-binaries`);
    if (options.npmTest) return await npmTest(vm, checkout, env, options, progress, startedAt);
    const values = { 'matrix.board.name': BOARD, 'inputs.phases': options.phases.join(',') };
    // A step still running in the VM when this process is stopped (CI's time limit, ^C) is stopped with
    // SIGINT first, so that it removes what it made, as the runner's cancel does; then its checkout goes.
    const stepPid = `${checkout}/.nightly-step.pid`;
    resources.defer(`the nightly's step running in ${checkout}`, () => stopStep(vm, stepPid));
    const run = async (name: string) => {
      // The step's own command line: `node bin/buildkit-acceptance.mjs` and its arguments as written.
      const argv = ['node', 'bin/buildkit-acceptance.mjs', ...workflowArgv(WORKFLOW, name, values)];
      const stepVars = { ...stepEnv(WORKFLOW, name, values), ...env };
      const result = await vm.exec(
        serviceShell(`cd ${checkout} && echo $$ > ${stepPid} && exec ${quoteCommand(argv)}`),
        {
          env: stepVars,
          reject: false,
          timeoutMs: 150 * 60_000,
          context: `board rehearsal: the nightly's ${name} step`,
        },
      );
      // Ended: nothing of it is left to stop.
      await vm.exec(['rm', '-f', stepPid], { reject: false });
      return result;
    };
    const doctor = await step('the nightly step: doctor', () => run('doctor'));
    process.stderr.write(doctor.stdout + doctor.stderr);
    if (doctor.failed) {
      say(`rehearse: doctor failed (exit ${doctor.exitCode}): the nightly stops there`);
      return EXIT.failed;
    }
    const acceptance = await step('the nightly step: acceptance (target local)', () => run('acceptance'));
    process.stderr.write(acceptance.stderr.split('\n').slice(-40).join('\n'));
    const results = await fetchReports(vm, `${checkout}/out/reports/${BOARD}`, options.reportDir);
    await step('the nightly step: janitor', () => run('janitor'));
    return await summarize(results, options, progress.times, acceptance.exitCode ?? 1, startedAt);
  } finally {
    await resources.cleanup();
    await vm.close();
    if (!wasRunning && !config.lab.keep) await lab.down();
  }
}

/**
 * SIGINT to the nightly's step recorded in `pidFile` when it still runs, then up to 50 s for it to remove
 * what it made and exit (within the minute an interrupted process gives its cleanup).
 */
function stopStep(vm: SshTarget, pidFile: string) {
  const script =
    'p=$(cat "$1" 2>/dev/null) || exit 0; kill -INT "$p" 2>/dev/null || exit 0; ' +
    'i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 500 ]; do sleep 0.1; i=$((i+1)); done';
  return vm.exec(['sh', '-c', script, 'sh', pidFile], { reject: false, timeoutMs: 55_000 });
}

/**
 * The README's test command as the runner (after its setup, above), then its reports (the phases' and
 * the self tests') back.
 */
async function npmTest(
  vm: SshTarget,
  checkout: string,
  env: Record<string, string>,
  options: RehearsalOptions,
  progress: Progress,
  startedAt: string,
): Promise<number> {
  const test = await progress.step('npm test (the self tests, then every phase; target local)', () =>
    vm.exec(serviceShell(`cd ${checkout} && exec npm test`), {
      env,
      reject: false,
      timeoutMs: 240 * 60_000,
      context: 'board rehearsal: npm test',
    }),
  );
  process.stderr.write(test.stderr.split('\n').slice(-40).join('\n'));
  const self = await fetchReports(vm, `${checkout}/out/reports/self`, join(options.reportDir, 'self'));
  const results = await fetchReports(vm, `${checkout}/out/reports`, options.reportDir);
  const code = await summarize(results, options, progress.times, test.exitCode ?? 1, startedAt);
  if (!self) say('rehearse: npm test wrote no self-test report');
  else {
    const c = counts(allTests(self));
    say(
      `rehearse: self tests on the board: ${verdict(self)}, ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`,
    );
  }
  return self ? Math.max(code, verdictExitCode(verdict(self))) : EXIT.failed;
}

/**
 * What the board has from Debian (BOARD-NOTES: Node 20.19 and Go 1.24 from trixie), installed with the
 * runner's sudo when the VM lacks it: nodejs and npm for the suite, golang-go for what the suite builds
 * and reads on the machine it runs on (`go version -m`, the seccomp probe), and tinyproxy, which doctor
 * asks a board's owner for (the buildx proxy checks run it).
 */
async function ensureBoardPackages(vm: SshTarget): Promise<void> {
  const probe = `printf 'node=%s\\nnpm=%s\\ngo=%s\\nproxy=%s\\n' "$(node --version 2>/dev/null)" "$(npm --version 2>/dev/null)" "$(command -v go)" "$(command -v tinyproxy)"`;
  const have = await vm.exec(['sh', '-c', probe], { reject: false });
  const got = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(have.stdout)?.[1]?.trim() ?? '';
  const [node, npm, go, proxy] = [got('node'), got('npm'), got('go'), got('proxy')];
  const [major = 0, minor = 0] = node.replace(/^v/, '').split('.').map(Number);
  const missing = [
    ...(npm && (major > 20 || (major === 20 && minor >= 19)) ? [] : ['nodejs', 'npm']),
    ...(go ? [] : ['golang-go']),
    ...(proxy ? [] : ['tinyproxy']),
  ];
  // Installed (the lab's disk has them, as a board has Debian's Node and Go before its runner starts): the
  // same install through the runner's sudo, a no-op that proves the sudo rule. Missing: the index first.
  const install = missing.length ? missing : ['nodejs', 'npm', 'golang-go', 'tinyproxy'];
  // tinyproxy as doctor tells a board's owner: the package, not its own service (the suite runs its own).
  const proxyService = missing.includes('tinyproxy') ? ' && sudo -n systemctl disable --now tinyproxy' : '';
  await inVm(
    vm,
    `${missing.length ? 'sudo -n apt-get update -qq && ' : ''}sudo -n apt-get install -y -qq --no-install-recommends ${install.join(' ')} >/dev/null${proxyService}`,
    `${missing.length ? 'installing' : 'installed, a no-op:'} ${install.join(', ')} with sudo apt-get`,
    (missing.length ? 30 : 10) * 60_000,
  );
}

/** The files git tracks (and untracked ones it does not ignore), as they are in the work tree. */
async function copyCheckout(vm: SshTarget, dest: string): Promise<void> {
  const tmp = await localTempDir('rehearsal');
  const tar = join(tmp, 'checkout.tar.gz');
  const files = await execa('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
  });
  const existing = files.stdout.split('\0').filter(Boolean);
  await execa('tar', ['-czf', tar, '--null', '-T', '-'], { cwd: ROOT, input: existing.join('\0') });
  await vm.exec(['mkdir', '-p', dest]);
  await vm.upload(tar, `${dest}.tar.gz`);
  await vm.exec(['sh', '-c', `tar -xzf "$1" -C "$2" && rm -f "$1"`, 'sh', `${dest}.tar.gz`, dest], {
    context: 'board rehearsal: unpacking the checkout',
  });
}

/** The build script's riscv64 cross-build of `ref` (from its cache when there). */
async function crossBuilt(ref: string): Promise<string> {
  const { buildBinaries } = await import('../../build/binaries.ts');
  const built = await buildBinaries({ ref, goarch: 'riscv64', log: say });
  say(`rehearse: --binaries ${built.dir} (cross-built here${built.cached ? ', cached' : ''})`);
  return built.dir;
}

/**
 * Phase 1's binaries given with --binaries, uploaded as given: a build directory whole (bin/, manifest,
 * SHA256SUMS, the release tarball), so the phase sees what a board's --binaries gives it; returns its path.
 */
async function uploadBinaries(vm: SshTarget, local: string, dest: string): Promise<string> {
  const tmp = await localTempDir('rehearsal-binaries');
  const tar = join(tmp, 'binaries.tar.gz');
  await execa('tar', ['-czf', tar, '-C', local, '.']);
  await vm.exec(['mkdir', '-p', dest]);
  await vm.upload(tar, `${dest}.tar.gz`);
  await vm.exec(['sh', '-c', 'tar -xzf "$1" -C "$2" && rm -f "$1"', 'sh', `${dest}.tar.gz`, dest], {
    context: 'board rehearsal: unpacking the binaries',
  });
  return dest;
}

/**
 * The nightly's closing step on the board's report, and on the SSH run's: a green board run of every
 * phase closes #207-#210; the lab's SSH run closes nothing (its origin is the lab). Read from the stand-in.
 */
async function closureLines(
  results: RunResults,
  options: RehearsalOptions,
  ssh: RunResults | undefined,
  startedAt: string,
): Promise<{ lines: string[]; asExpected: boolean }> {
  const lines = ["The nightly's closing step against a GitHub stand-in holding #207-#210 open:"];
  let asExpected = true;
  const board = await closeWithNightlyStep(BOARD, join(options.reportDir, 'results.json'), startedAt);
  const everyPhase = PHASES.every((p) => results.phases.some((r) => r.name === p));
  const green = verdict(results) === 'PASSED';
  const allClosed = TRACKING_ISSUES.every((n) => board.states[n] === 'closed');
  lines.push(`- the board's results: ${statesLine(board)} (closer exit ${board.exitCode})`);
  if (everyPhase && green && !allClosed) {
    asExpected = false;
    lines.push(
      `  every phase ran and passed, yet not every issue closed; the closer said: ${board.said.trim()}`,
    );
  } else if (!everyPhase)
    lines.push('  (not every phase ran here: an issue whose phases did not run stays open)');
  if (options.compare && ssh) {
    // Not before the SSH run's own start: the lab's origin alone must be what refuses it.
    const lab = await closeWithNightlyStep(BOARD, options.compare, ssh.startedAt);
    const closedAny = TRACKING_ISSUES.some((n) => lab.states[n] === 'closed');
    lines.push(`- the SSH run's results (the lab's): ${statesLine(lab)} (closer exit ${lab.exitCode})`);
    lines.push(`  the closer said: ${lab.said.trim().split('\n').at(-1)}`);
    if (closedAny) {
      asExpected = false;
      lines.push(`  the lab's results closed an issue; the closer said: ${lab.said.trim()}`);
    }
  }
  return { lines, asExpected };
}

/** The run's reports, copied back to this machine. */
async function fetchReports(vm: SshTarget, remote: string, local: string): Promise<RunResults | undefined> {
  await mkdir(local, { recursive: true });
  for (const f of ['results.json', 'junit.xml', 'summary.md']) {
    await vm.download(`${remote}/${f}`, join(local, f)).catch(() => undefined);
  }
  try {
    return JSON.parse(await readFile(join(local, 'results.json'), 'utf8')) as RunResults;
  } catch {
    return undefined;
  }
}

async function summarize(
  results: RunResults | undefined,
  options: RehearsalOptions,
  times: ReadonlyMap<string, number>,
  exitCode: number,
  startedAt: string,
): Promise<number> {
  const lines = [`# Board rehearsal (run ${currentRunId()})`, ''];
  let differs = false;
  for (const [k, v] of times) lines.push(`- ${k}: ${formatDuration(v)}`);
  if (!results) {
    lines.push('', `No report came back: the acceptance step ended before writing one (exit ${exitCode}).`);
  } else {
    lines.push('', `Verdict on the board: ${verdict(results)}`);
    for (const p of results.phases) lines.push(`- ${p.name}: ${formatDuration(p.durationMs)}`);
    const ssh = options.compare
      ? (JSON.parse(await readFile(options.compare, 'utf8')) as RunResults)
      : undefined;
    if (ssh) {
      // "For the same phases": what only one run was asked to run is named, not compared (CI runs each
      // phase once where it can, and one phase both ways); a phase asked of both and absent is a difference.
      const { both, alone } = comparedPhases(options.phases, results, ssh);
      const diffs = compareRuns(results, ssh, both);
      differs = diffs.length > 0 || both.length === 0;
      lines.push(
        '',
        both.length === 0
          ? `The SSH run (${options.compare}) ran none of these phases: nothing to compare, so the rehearsal fails.`
          : diffs.length
            ? `Differences from the SSH run (${options.compare}) in ${both.join(', ')}, so the rehearsal fails:`
            : `Same verdicts and counts as the SSH run in ${both.join(', ')}.`,
      );
      for (const d of diffs) lines.push(`- ${d.phase}: ${d.what}`);
      if (alone.length) lines.push(`- not compared (the SSH run did not run them): ${alone.join(', ')}`);
    }
    const closure = await closureLines(results, options, ssh, startedAt);
    lines.push('', ...closure.lines);
    differs ||= !closure.asExpected;
  }
  const text = `${lines.join('\n')}\n`;
  await writeFile(join(options.reportDir, 'rehearsal.md'), text);
  process.stdout.write(text);
  // The board must agree with the SSH run, and the closer with both: a difference is a failure even when
  // both runs passed.
  return results
    ? Math.max(verdictExitCode(verdict(results)), exitCode === 0 && !differs ? 0 : EXIT.failed)
    : EXIT.failed;
}
