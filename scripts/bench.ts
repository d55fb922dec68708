/**
 * Benchmarks (numbers for docs/performance.md, never asserted in tests):
 *   npm run bench                 warm `lab up`, `lab down`, and SSH command latency side by side
 *   npm run bench -- --cold       also cold provisioning into an empty, temporary lab cache
 * Writes out/bench.json and prints a Markdown table with the machine it ran on.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Lab } from '../harness/lab/lab.ts';
import { loadConfig } from '../harness/plan/config.ts';
import { runEnv, setRunEnv } from '../harness/plan/run-env.ts';
import { localTempDir } from '../harness/target/local-temp.ts';

const cold = process.argv.includes('--cold');
const rounds = 20;
const results: Array<{ what: string; value: string; seconds?: number }> = [];
const time = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const v = await fn();
  const s = (performance.now() - t0) / 1000;
  results.push({ what, value: `${s.toFixed(1)} s`, seconds: s });
  process.stderr.write(`bench: ${what}: ${s.toFixed(1)} s\n`);
  return v;
};

const config = loadConfig();
if (cold) {
  const dir = await localTempDir('bench-lab');
  const coldLab = new Lab({
    ...config.lab,
    dir,
    sshPort: config.lab.sshPort + 1,
    registryPort: config.lab.registryPort + 10,
    debianMirrorPort: config.lab.debianMirrorPort + 10,
  });
  await time('cold lab provisioning, empty cache, to SSH + Docker ready', () => coldLab.up());
  await coldLab.down();
  await rm(dir, { recursive: true, force: true });
}

const lab = new Lab(config.lab, { quiet: true });
const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)} s`;
// Before: the VM boots (no hibernated state); after: it resumes the state the last `lab down` saved
// (the warm start; on unless BKA_LAB_RESUME=0, and on for the bench whatever the caller set).
setRunEnv('labResume', '1');
if (await lab.running()) await lab.down();
await lab.dropSnapshots();
await time('`lab up` booting the VM (cache present, no saved state) to SSH + Docker ready', () => lab.up());
const booted = results.at(-1)?.seconds ?? 0;
results.push({ what: 'of which: qemu start to SSH ready (boot)', value: seconds(lab.timings.sshReadyMs) });
results.push({
  what: 'of which: qemu start to Docker ready (boot)',
  value: seconds(lab.timings.dockerReadyMs),
});
// Resumes in a row, each after a hibernating `lab down`: how fast, and how many resume at all.
const resumes: number[] = [];
const hibernations: number[] = [];
let fellBack = 0;
const cycles = Number(runEnv('benchResumes') ?? 5);
for (let i = 0; i < cycles; i++) {
  const d0 = performance.now();
  await lab.down();
  hibernations.push((performance.now() - d0) / 1000);
  const u0 = performance.now();
  await lab.up();
  const s = (performance.now() - u0) / 1000;
  process.stderr.write(
    `bench: warm lab up ${i + 1}/${cycles}: ${s.toFixed(1)} s (${lab.timings.resumed ? 'resumed' : 'booted'})\n`,
  );
  if (lab.timings.resumed) resumes.push(s);
  else fellBack++;
}
const range = (xs: number[]) =>
  xs.length ? `${Math.min(...xs).toFixed(1)} s to ${Math.max(...xs).toFixed(1)} s` : 'none';
results.push({ what: `\`lab down\` hibernating the VM (${cycles} times)`, value: range(hibernations) });
results.push({
  what: `warm \`lab up\` resuming the hibernated VM to SSH + Docker ready (${resumes.length} of ${cycles} resumed, ${fellBack} booted instead)`,
  value: range(resumes),
});
if (resumes.length === 0) throw new Error('bench: no warm lab up resumed');
const resumed = resumes.reduce((a, b) => a + b, 0) / resumes.length;
results.push({
  what: 'of which (last resume): qemu start to SSH ready + clock set / to Docker ready',
  value: `${seconds(lab.timings.sshReadyMs)} / ${seconds(lab.timings.dockerReadyMs)}`,
});
results.push({
  what: 'warm `lab up`: boot / mean resume',
  value: `${(booted / resumed).toFixed(1)}x faster`,
});

const ep = await lab.endpoint();
const target = await lab.connect();
await target.exec(['true']);
const t0 = performance.now();
for (let i = 0; i < rounds; i++) await target.exec(['true']);
const harness = (performance.now() - t0) / 1000 / rounds;
await target.close();

const sshBase = Lab.sshArgs(ep);
// Removed when the bench exits (also on Ctrl-C), with every other local temp dir it made.
const control = join(await localTempDir('bench-ssh'), 'cm');
await execa('ssh', [
  ...sshBase,
  '-o',
  'ControlMaster=yes',
  '-o',
  `ControlPath=${control}`,
  '-o',
  'ControlPersist=60',
  '-fN',
  `${ep.user}@${ep.host}`,
]);
const t1 = performance.now();
for (let i = 0; i < rounds; i++)
  await execa('ssh', [...sshBase, '-o', `ControlPath=${control}`, `${ep.user}@${ep.host}`, 'true']);
const multiplexed = (performance.now() - t1) / 1000 / rounds;
await execa('ssh', ['-o', `ControlPath=${control}`, '-O', 'exit', 'x'], { reject: false });
const freshRounds = 5;
const t2 = performance.now();
for (let i = 0; i < freshRounds; i++)
  await execa('ssh', [
    ...sshBase,
    '-o',
    'ControlMaster=no',
    '-o',
    'ControlPath=none',
    `${ep.user}@${ep.host}`,
    'true',
  ]);
const fresh = (performance.now() - t2) / 1000 / freshRounds;
results.push({
  what: `\`true\` over the harness's persistent ssh2 connection (mean of ${rounds})`,
  value: `${harness.toFixed(3)} s`,
  seconds: harness,
});
results.push({
  what: `\`true\` over OpenSSH with ControlMaster (mean of ${rounds})`,
  value: `${multiplexed.toFixed(3)} s`,
  seconds: multiplexed,
});
results.push({
  what: `a fresh \`ssh host true\` (mean of ${freshRounds})`,
  value: `${fresh.toFixed(3)} s`,
  seconds: fresh,
});
results.push({ what: 'harness speed-up over a fresh ssh', value: `${(fresh / harness).toFixed(1)}x` });

setRunEnv('labResume', '0');
await time('`lab down` (clean poweroff, no qemu left)', () => lab.down());

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${execFileSync('sh', ['-c', '. /etc/os-release; echo $PRETTY_NAME']).toString().trim()}`;
const table = [
  '| measurement | value |',
  '|---|---:|',
  ...results.map((r) => `| ${r.what} | ${r.value} |`),
].join('\n');
process.stdout.write(`Machine: ${machine}; ${new Date().toISOString().slice(0, 10)}\n\n${table}\n`);
await mkdir('out', { recursive: true });
await writeFile(
  'out/bench.json',
  `${JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2)}\n`,
);
