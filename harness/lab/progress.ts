import { formatDuration } from '../../helpers/command-result.ts';

/** One line per long step with elapsed time, on stderr (stdout stays for results). */
export class Progress {
  private readonly t0 = performance.now();
  /** How long each step that finished took, by label (a report's stage times). */
  readonly times = new Map<string, number>();
  constructor(
    private readonly scope: string,
    private readonly quiet = false,
  ) {}

  step<T>(label: string, work: () => Promise<T>): Promise<T> {
    const t = performance.now();
    this.say(`${label} ...`);
    const ticker = setInterval(
      () => this.say(`${label} ... still running (${formatDuration(performance.now() - t)})`),
      60_000,
    );
    ticker.unref();
    return work().then(
      (value) => {
        clearInterval(ticker);
        this.times.set(label, performance.now() - t);
        this.say(`${label}: done in ${formatDuration(performance.now() - t)}`);
        return value;
      },
      (err) => {
        clearInterval(ticker);
        this.say(`${label}: FAILED after ${formatDuration(performance.now() - t)}`);
        throw err;
      },
    );
  }

  say(line: string): void {
    if (!this.quiet)
      process.stderr.write(`[${this.scope} +${formatDuration(performance.now() - this.t0)}] ${line}\n`);
  }
}
