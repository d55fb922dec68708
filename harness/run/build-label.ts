/**
 * The report's `run.build`: how the binaries under test were made. Built by the run (native on a riscv64
 * machine, cross-compiled elsewhere), or given with --binaries, where the build's own manifest (when it
 * has one) says how it was made: the lab can test binaries built natively on a board or in its VM.
 */
import { readFileSync } from 'node:fs';
import { manifestFileFor } from '../../build/binaries.ts';
import type { BuildMode } from './session.ts';

export function buildLabel(mode: BuildMode, binaries: string | undefined): string {
  if (!binaries) return mode;
  const file = manifestFileFor(binaries);
  if (!file) return 'given (--binaries)';
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as {
      mode?: string;
      hostArch?: string;
      goVersion?: string;
    };
    const how = [m.mode, m.hostArch && `on linux/${m.hostArch}`, m.goVersion && `with ${m.goVersion}`];
    return `given (--binaries): ${how.filter(Boolean).join(' ') || 'its manifest says nothing of its build'}`;
  } catch {
    return `given (--binaries): its manifest.json is not JSON`;
  }
}
