/**
 * The suite's own commands as the workflows run them: the `node bin/buildkit-acceptance.mjs ...` line of
 * a step, read from `.github/workflows/*.yml`, with the workflow's expressions and shell substitutions
 * replaced by given values, split into argv. Tests run exactly that argv, so a renamed command or flag
 * cannot break a workflow silently.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const WORKFLOWS = fileURLToPath(new URL('../.github/workflows/', import.meta.url));
const ENTRY = 'node bin/buildkit-acceptance.mjs';

interface Step {
  name?: string;
  run?: string;
  env?: Record<string, string | number | boolean>;
}

/** The step named `stepName` with a `run:` script, in any job of the workflow file. */
function findStep(workflow: string, stepName: string): Step & { run: string } {
  const doc = parse(readFileSync(join(WORKFLOWS, workflow), 'utf8')) as {
    jobs: Record<string, { steps?: Step[] }>;
  };
  for (const job of Object.values(doc.jobs)) {
    const step = job.steps?.find((s) => s.name === stepName);
    if (step?.run) return step as Step & { run: string };
  }
  throw new Error(`${workflow} has no step '${stepName}' with a run script`);
}

/** The `run:` script of the step named `stepName` in any job of the workflow file. */
export function stepScript(workflow: string, stepName: string): string {
  return findStep(workflow, stepName).run;
}

/** A step's `env:`, its `${{ expr }}` replaced by `values` (an unknown expression is an error). */
export function stepEnv(
  workflow: string,
  stepName: string,
  values: Record<string, string>,
): Record<string, string> {
  const env = findStep(workflow, stepName).env ?? {};
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      String(v).replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
        const value = values[expr];
        if (value === undefined) throw new Error(`${workflow} › ${stepName}: no value for \${{ ${expr} }}`);
        return value;
      }),
    ]),
  );
}

/** Shell words of one line: single and double quotes, backslash escapes; `$(...)` kept whole. */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      let j = i + 1;
      for (let depth = 0; j < line.length && (line[j] !== '"' || depth > 0); j++) {
        if (line.startsWith('$(', j)) depth++;
        else if (line[j] === ')' && depth > 0) depth--;
      }
      cur += line.slice(i + 1, j);
      i = j;
    } else if (ch === '\\') cur += line[++i] ?? '';
    else cur += ch;
  }
  if (inWord) out.push(cur);
  return out;
}

/**
 * The argv of the suite's command in a step. `values` replaces `${{ expr }}` (keyed by the expression),
 * `$(...)` and `$VAR` / `${VAR}` / `"${args[@]}"` (keyed by their text): an unknown one is an error.
 */
export function workflowArgv(
  workflow: string,
  stepName: string,
  values: Record<string, string | string[]>,
  /** Stands in for any value not given (to check a command's shape without running it). */
  placeholder?: string,
): string[] {
  const script = stepScript(workflow, stepName).replace(/\\\n\s*/g, ' ');
  const line = script.split('\n').find((l) => l.includes(ENTRY));
  if (!line) throw new Error(`${workflow} › ${stepName} does not run ${ENTRY}`);
  const command = line
    .slice(line.indexOf(ENTRY) + ENTRY.length)
    .split(/\s\|\s/)[0]!
    .replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
      const v = values[expr] ?? placeholder;
      if (typeof v !== 'string') throw new Error(`${workflow} › ${stepName}: no value for \${{ ${expr} }}`);
      return v;
    });
  return words(command).flatMap((w) => {
    if (!w.includes('$')) return [w];
    const v = values[w] ?? placeholder;
    if (v === undefined) throw new Error(`${workflow} › ${stepName}: no value for ${w}`);
    return Array.isArray(v) ? v : [v];
  });
}

/** Every step of every workflow that runs the suite's CLI: `[workflow, step name]`. */
export function cliSteps(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const file of readdirSync(WORKFLOWS).filter((f) => f.endsWith('.yml'))) {
    const doc = parse(readFileSync(join(WORKFLOWS, file), 'utf8')) as {
      jobs: Record<string, { steps?: Step[] }>;
    };
    for (const job of Object.values(doc.jobs))
      for (const step of job.steps ?? [])
        if (step.name && step.run?.includes(ENTRY)) out.push([file, step.name]);
  }
  return out;
}
