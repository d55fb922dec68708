/**
 * A file on the target put into a registry as a blob, by the distribution API's monolithic upload (POST
 * for an upload session, then PUT with the digest), from the target (curl there reaches the registry
 * as its builders do). The registry checks the digest: a file whose content is not `sha256` is refused.
 * Anyone then GETs it at the returned URL, named by its content: what a Dockerfile's
 * `ADD --checksum=sha256:<sum> <url>` fetches, and what the build's provenance names as a material.
 */
import { CommandError } from '../../helpers/command-result.ts';
import type { Target } from '../target/target.ts';

export interface BlobPush {
  /** host:port of a registry that speaks plain HTTP (the run's own, the lab's). */
  registry: string;
  /** e.g. `bka/buildkit-v0.33.1.linux-riscv64.tar.gz`: the URL then names the file it holds. */
  repository: string;
  /** The file on the target. */
  file: string;
  /** Its SHA256 (hex) as the caller was told it (phase 1's SHA256SUMS), never as computed here. */
  sha256: string;
}

/** Uploads the blob; returns `http://<registry>/v2/<repository>/blobs/sha256:<sum>`. */
export async function pushBlob(target: Target, o: BlobPush): Promise<string> {
  const base = `http://${o.registry}/v2/${o.repository}/blobs`;
  const digest = `sha256:${o.sha256}`;
  const start = await target.exec(
    ['curl', '-sS', '--fail-with-body', '-X', 'POST', '-D', '-', '-o', '/dev/null', `${base}/uploads/`],
    { context: `starting a blob upload to ${o.registry}/${o.repository}`, timeoutMs: 60_000 },
  );
  const location = /^location:\s*(\S+)\s*$/im.exec(start.stdout)?.[1];
  if (!location)
    throw new Error(
      `${o.registry} started a blob upload but named no Location:\n${start.stdout.slice(0, 1000)}`,
    );
  const url = new URL(location, `http://${o.registry}`);
  url.searchParams.set('digest', digest);
  const put = await target.exec(
    [
      ...['curl', '-sS', '--fail-with-body', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream'],
      ...['-T', o.file, url.toString()],
    ],
    { reject: false, timeoutMs: 10 * 60_000 },
  );
  if (put.failed)
    throw new CommandError(put, {
      context: `uploading ${o.file} to ${o.registry}/${o.repository} as ${digest}`,
      hint: /DIGEST_INVALID/.test(put.stdout)
        ? `the registry computed another digest: ${o.file} is not the file whose SHA256 is ${o.sha256}`
        : undefined,
    });
  return `${base}/${digest}`;
}
