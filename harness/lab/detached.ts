/**
 * A lab service on the host as a detached process: it outlives the command that started it (`lab down`
 * stops it), its output appended to a log, its pid recorded once it answers.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { alive, cmdlineOf, sleep, terminate } from './processes.ts';

export interface DetachedService {
  what: string;
  argv: string[];
  cwd?: string;
  log: string;
  pidFile: string;
  port: number;
  timeoutMs: number;
  up: () => Promise<boolean>;
}

export async function startDetached(o: DetachedService): Promise<void> {
  await mkdir(dirname(o.log), { recursive: true });
  const logFd = openSync(o.log, 'a');
  const child = spawn(o.argv[0]!, o.argv.slice(1), {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    cwd: o.cwd,
  });
  closeSync(logFd); // the child has its own copy
  child.on('error', () => {});
  child.unref();
  const deadline = Date.now() + o.timeoutMs;
  while (!(await o.up())) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`lab: ${o.what} did not answer on 127.0.0.1:${o.port}; see ${o.log}`);
    await sleep(300);
  }
  await writeFile(o.pidFile, String(child.pid));
}

/** Stops the service whose pid is recorded in `pidFile`, if its command line still says it is ours. */
export async function stopDetached(pidFile: string, cmdlineMark: string): Promise<void> {
  const pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
  if (pid && alive(pid) && cmdlineOf(pid).includes(cmdlineMark)) await terminate(pid);
  await rm(pidFile, { force: true });
}

/** True when an HTTP GET of `url` answers 2xx within 2 s. */
export async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}
