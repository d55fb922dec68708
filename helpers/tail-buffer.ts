/** Keeps the last `limit` bytes of a stream (the tail is what explains a failure) and counts what it dropped. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  dropped = 0;

  constructor(private readonly limit = 1024 * 1024) {}

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buf);
    this.size += buf.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  toString(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `[... ${this.dropped} bytes dropped ...]\n${text}` : text;
  }
}

/** The last `lines` lines of a text, for failure messages. */
export function tailLines(text: string, lines = 20): string {
  const all = text.replace(/\s+$/, '').split('\n');
  return all.length <= lines
    ? all.join('\n')
    : [`[... ${all.length - lines} lines above ...]`, ...all.slice(-lines)].join('\n');
}
