/**
 * A benchmark measured during the acceptance run (never asserted): attached to the check that measured
 * it as a `bench` annotation, `<name>=<ms>`. The reports collect them per run and the HTML report plots
 * them across runs.
 */
type Annotate = (message: string, type?: string) => Promise<unknown>;

export function benchNote(annotate: Annotate, name: string, ms: number): Promise<unknown> {
  return annotate(`${name}=${Math.round(ms)}`, 'bench');
}
