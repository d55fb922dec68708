/**
 * BuildKit's own proof of a cache hit (no timing): a RUN step that writes random bytes reproduces them
 * only when it did not run again. `first` is what the exporting build wrote, `again` what the build
 * that imported the cache wrote.
 */
export function cacheHitProblem(first: string, again: string, imported: string): string | undefined {
  if (!/^[0-9a-f]{48}$/.test(first)) return `the first build wrote '${first}', not 24 random bytes in hex`;
  if (again !== first) return `the RUN step ran again after importing ${imported}: ${first} became ${again}`;
  return undefined;
}
