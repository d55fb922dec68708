/** The daemons' configuration the suite writes: docker.io through the configured registry mirror. */

export const BASE_IMAGE = 'debian:trixie-slim';

/** buildkitd.toml for the daemon under test: docker.io through the configured mirror. */
export function buildkitdToml(mirror: string | undefined): string {
  if (!mirror) return '';
  const host = mirror.replace(/^https?:\/\//, '');
  return [
    `[registry."docker.io"]`,
    `  mirrors = ["${host}"]`,
    '',
    `[registry."${host}"]`,
    '  http = true',
    '  insecure = true',
    '',
  ].join('\n');
}
