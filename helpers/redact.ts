/**
 * Secrets never reach a log or a report: every string that leaves the harness (command lines, output,
 * error messages, report files) passes through `redact`. Register a secret the moment it is read.
 */
const secrets = new Set<string>();
const MASK = '***';

/** Well-known credential shapes, redacted even when nobody registered them. */
const WHOLE: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g,
];
/** Shapes whose first group (the name) is kept and the value masked. */
const KEEP_NAME: readonly RegExp[] = [
  /\b(Authorization:\s*(?:Bearer|token|Basic)\s+)[^\s'"]+/gi,
  /\b((?:password|passwd|token|secret|api[_-]?key)\s*[=:]\s*)[^\s'"&]+/gi,
  /(\/\/[^/\s:@]+:)[^@\s/]+(?=@)/g,
];

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(MASK);
  for (const pattern of WHOLE) out = out.replace(pattern, MASK);
  for (const pattern of KEEP_NAME) out = out.replace(pattern, `$1${MASK}`);
  return out;
}

/** Environment variable names whose values are always treated as secrets. */
export const SECRET_ENV = ['GITHUB_TOKEN', 'GH_TOKEN', 'BKA_GITHUB_TOKEN', 'BKA_REGISTRY_PASSWORD'] as const;

export function registerSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of SECRET_ENV) registerSecret(env[name]);
}
