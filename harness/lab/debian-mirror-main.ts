/**
 * The lab's Debian mirror as a process of its own (the lab starts it detached, like its registry).
 * usage: debian-mirror-main.ts SNAPSHOT_DIR POOL_DIR UPSTREAM PORT
 */
import { startDebianMirror } from './debian-mirror.ts';

const [snapshotDir, poolDir, upstream, port] = process.argv.slice(2);
if (!snapshotDir || !poolDir || !upstream || !port || !/^\d+$/.test(port)) {
  console.error('usage: debian-mirror-main.ts SNAPSHOT_DIR POOL_DIR UPSTREAM PORT');
  process.exit(2);
}
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
try {
  const mirror = await startDebianMirror({ snapshotDir, poolDir, upstream, port: Number(port), log });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void mirror.close().then(() => process.exit(0)));
  }
} catch (err) {
  log(`cannot start: ${(err as Error).message}`);
  process.exit(1);
}
