import { quoteCommand } from './quote.ts';
import { redact } from './redact.ts';
import { tailLines } from './tail-buffer.ts';

/** The evidence of one command on a target: one shape for success and failure (as execa does). */
export interface CommandResult {
  /** The command line as a person would type it (quoted, secrets redacted). */
  readonly command: string;
  readonly argv: readonly string[];
  /** Where it ran: `local` or `user@host:port`. */
  readonly host: string;
  /** undefined when the process was killed by a signal or never started. */
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly isCanceled: boolean;
  /** True when the exit code was not 0 (or the command did not finish): stderr alone is never failure. */
  readonly failed: boolean;
  readonly startedAt: string;
}

export interface RawOutcome {
  argv: readonly string[];
  host: string;
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut?: boolean;
  isCanceled?: boolean;
  startedAt: Date;
}

export function makeResult(raw: RawOutcome): CommandResult {
  return {
    command: redact(quoteCommand(raw.argv)),
    argv: raw.argv.map(redact),
    host: raw.host,
    exitCode: raw.exitCode,
    signal: raw.signal,
    stdout: redact(raw.stdout),
    stderr: redact(raw.stderr),
    durationMs: Math.round(raw.durationMs),
    timedOut: raw.timedOut ?? false,
    isCanceled: raw.isCanceled ?? false,
    failed: raw.exitCode !== 0,
    startedAt: raw.startedAt.toISOString(),
  };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms - m * 60_000) / 1000)}s`;
}

function shortCommand(command: string): string {
  return command.length > 200 ? `${command.slice(0, 197)}...` : command;
}

/** First line like execa's: `Command failed with exit code 3: buildctl debug workers`. */
export function failureHeadline(result: CommandResult): string {
  const cmd = shortCommand(result.command);
  if (result.timedOut) return `Command timed out after ${formatDuration(result.durationMs)}: ${cmd}`;
  if (result.isCanceled) return `Command was canceled: ${cmd}`;
  if (result.signal) return `Command was killed with ${result.signal}: ${cmd}`;
  if (result.exitCode === undefined) return `Command did not finish: ${cmd}`;
  return `Command failed with exit code ${result.exitCode}: ${cmd}`;
}

/** The evidence block: host, exit code, duration, and the tails of both streams. */
export function formatEvidence(result: CommandResult, lines = 25): string {
  const parts = [
    `  host: ${result.host}  exit: ${result.exitCode ?? result.signal ?? 'none'}  duration: ${formatDuration(result.durationMs)}`,
  ];
  if (result.stderr.trim()) parts.push(`  stderr (tail):\n${indent(tailLines(result.stderr, lines))}`);
  if (result.stdout.trim()) parts.push(`  stdout (tail):\n${indent(tailLines(result.stdout, lines))}`);
  return parts.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** A command that did not succeed. Its message reads as a test failure; `result` keeps all the evidence. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly result: CommandResult,
    options?: { cause?: unknown; context?: string; hint?: string },
  ) {
    const head = options?.context
      ? `${options.context}: ${failureHeadline(result)}`
      : failureHeadline(result);
    const hint = options?.hint ? `\n  hint: ${options.hint}` : '';
    super(`${head}\n${formatEvidence(result)}${hint}`, { cause: options?.cause });
  }
}
