/**
 * The native linux/amd64 node of a multi-node builder, as Buildx on the target reaches it: the one the
 * board's owner names (`--amd64-node`, `worker=given-amd64`), else in the lab its x86-64 host
 * (`worker=host-amd64`, started and stopped by the run). Without either, the checks skip saying how
 * to give one.
 */
import type { PhaseContext } from '../run/phase-context.ts';
import { remoteTlsOpts } from './buildx-remote-worker.ts';
import { HostNodeWorker, hostNodeProblem } from './host-node-worker.ts';

export interface NativeNode {
  readonly name: string;
  readonly address: string;
  /** `--driver-opt` for `buildx create --append`, when the node needs one (mTLS material). */
  readonly driverOpt?: string;
  readonly how: string;
  stop(): Promise<void>;
}

/** The worker name the checks run under: known when the tests are collected. */
export function nativeNodeName(ctx: PhaseContext): string {
  return ctx.config.amd64Node ? 'given-amd64' : 'host-amd64';
}

/** Why this run has no native amd64 node, as a skip reason; undefined when it has one. */
export async function nativeNodeProblem(ctx: PhaseContext): Promise<string | undefined> {
  if (ctx.config.amd64Node) return undefined;
  const host = await hostNodeProblem(ctx);
  return host === undefined
    ? undefined
    : `none given (--amd64-node tcp://HOST:PORT --amd64-node-tls DIR, or BKA_AMD64_NODE); ${host}`;
}

/**
 * The node: the given one as is (the run neither starts nor stops it), or the lab host's, started
 * with `certs` (local and target-side copies of the run's mTLS material).
 */
export async function nativeNode(
  ctx: PhaseContext,
  certs: { local: string; remote: string },
): Promise<NativeNode> {
  const given = ctx.config.amd64Node;
  if (given) {
    const tls = given.tlsDir;
    return {
      name: 'given-amd64',
      address: given.address,
      ...(tls ? { driverOpt: `cacert=${tls}/ca.pem,cert=${tls}/cert.pem,key=${tls}/key.pem` } : {}),
      how: `the amd64 node given by --amd64-node (${given.address})`,
      stop: async () => undefined,
    };
  }
  const host = await HostNodeWorker.start(ctx, certs.local);
  return {
    name: host.name,
    address: host.address,
    driverOpt: remoteTlsOpts(certs.remote, 'client'),
    how: host.how,
    stop: () => host.stop(),
  };
}
