/** The CLI's own lines go to stderr; stdout carries results (JSON, facts). */
export function say(line: string): void {
  process.stderr.write(`${line}\n`);
}
