/**
 * A CA, a server certificate (127.0.0.1, localhost), a client certificate from the same CA and one from
 * another CA, made for this run and uploaded to a temp dir on the target (removed with the run).
 */
import { join } from 'node:path';
import { makeCerts } from '../target/certs.ts';
import type { ResourceTracker } from '../target/resources.ts';
import type { Target } from '../target/target.ts';

export async function certsOnTarget(target: Target, resources: ResourceTracker): Promise<string> {
  return (await certsBothSides(target, resources)).remote;
}

/** The same set on this machine (`local`, for a daemon run here) and on the target (`remote`). */
export async function certsBothSides(
  target: Target,
  resources: ResourceTracker,
): Promise<{ local: string; remote: string }> {
  const certs = await makeCerts();
  const dir = await resources.tempDir('certs');
  for (const f of certs.files) await target.upload(join(certs.dir, f), `${dir}/${f}`, 0o644);
  return { local: certs.dir, remote: dir };
}

/** The image's command line for TCP with mTLS (certificates mounted at /certs), and its unix socket. */
export const MTLS_LISTEN = [
  ...['--addr', 'tcp://0.0.0.0:1234', '--addr', 'unix:///run/buildkit/buildkitd.sock'],
  ...['--tlscacert', '/certs/ca.pem', '--tlscert', '/certs/server.pem', '--tlskey', '/certs/server-key.pem'],
];
