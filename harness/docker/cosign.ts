/**
 * cosign on the target (Debian's, installed by setup.sh on a board and in the lab's VM): a key pair per
 * run, signing by digest, verifying with an empty Docker config. The lab has no transparency log, so its
 * signatures are made with `--tlog-upload=false` and verified against the run's public key with the log
 * check off; the weekly workflow signs keyless in Actions, where the log is reachable and checked.
 */
import type { CommandResult } from '../../helpers/command-result.ts';
import type { Target } from '../target/target.ts';

export interface CosignKeys {
  key: string;
  pub: string;
}

const TIMEOUT_MS = 5 * 60_000;
/** Plain HTTP to the registry: the lab's and a run-owned one speak it. */
const httpFlag = (http: boolean) => (http ? ['--allow-http-registry', '--allow-insecure-registry'] : []);

/** A new key pair in `dir` on the target (an empty password: it lives only as long as the run's temp dir). */
export async function cosignKeyPair(target: Target, dir: string): Promise<CosignKeys> {
  await target.exec(['sh', '-c', 'cd "$1" && COSIGN_PASSWORD= cosign generate-key-pair', 'sh', dir], {
    context: 'cosign generate-key-pair on the target',
    timeoutMs: TIMEOUT_MS,
  });
  return { key: `${dir}/cosign.key`, pub: `${dir}/cosign.pub` };
}

/** Signs `ref@digest` (never a tag) with `keys`, without the transparency log. */
export async function cosignSign(target: Target, keys: CosignKeys, byDigest: string, http: boolean) {
  if (!/@sha256:[0-9a-f]{64}$/.test(byDigest)) throw new Error(`cosign: sign by digest, not ${byDigest}`);
  return target.exec(
    [
      ...['env', 'COSIGN_PASSWORD=', 'cosign', 'sign', '--key', keys.key, '--tlog-upload=false', '--yes'],
      ...httpFlag(http),
      byDigest,
    ],
    { context: `cosign sign ${byDigest}`, timeoutMs: TIMEOUT_MS },
  );
}

/** `cosign verify` of `ref` with the public key, as a user with no credentials (an empty Docker config). */
export function cosignVerify(
  target: Target,
  ref: string,
  o: { pub: string; http: boolean; dockerConfig: string },
): Promise<CommandResult> {
  return target.exec(
    [
      ...['env', `DOCKER_CONFIG=${o.dockerConfig}`, 'cosign', 'verify', '--key', o.pub],
      '--insecure-ignore-tlog=true',
      ...httpFlag(o.http),
      ref,
    ],
    { reject: false, timeoutMs: TIMEOUT_MS },
  );
}

/** The weekly workflow's keyless signature: GitHub Actions' OIDC issuer and this project's workflow. */
export const ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
export const WEEKLY_WORKFLOW = '.github/workflows/buildkit-weekly-build.yml';

/**
 * Where cosign finds Sigstore when it is not the public instance: a Fulcio and Rekor URL (both reached
 * on the target) and the trust files on the target that replace Sigstore's TUF root
 * (`SIGSTORE_ROOT_FILE`, `SIGSTORE_REKOR_PUBLIC_KEY`, `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE`).
 */
export interface SigstoreInstance {
  fulcioUrl: string;
  rekorUrl: string;
  trustEnv: Record<string, string>;
}
const envArgs = (env: Record<string, string>) => Object.entries(env).map(([k, v]) => `${k}=${v}`);

/**
 * The weekly workflow's `cosign sign --yes ref@digest`, keyless: the identity token is read from a
 * file on the target (never on the command line). With `tlog: false`, no transparency-log entry.
 */
export function cosignSignKeyless(
  target: Target,
  byDigest: string,
  o: { sigstore: SigstoreInstance; identityTokenFile: string; http: boolean; tlog?: boolean },
): Promise<CommandResult> {
  if (!/@sha256:[0-9a-f]{64}$/.test(byDigest)) throw new Error(`cosign: sign by digest, not ${byDigest}`);
  return target.exec(
    [
      ...['env', ...envArgs(o.sigstore.trustEnv), 'cosign', 'sign', '--yes'],
      ...['--fulcio-url', o.sigstore.fulcioUrl, '--rekor-url', o.sigstore.rekorUrl],
      ...['--identity-token', o.identityTokenFile],
      ...(o.tlog === false ? ['--tlog-upload=false'] : []),
      ...httpFlag(o.http),
      byDigest,
    ],
    { context: `cosign sign (keyless) ${byDigest}`, timeoutMs: TIMEOUT_MS },
  );
}

/**
 * `cosign verify` of a keyless signature made by `repositoryUrl`'s weekly workflow (any ref), with the
 * transparency log checked, as a user with no credentials. Against public Sigstore unless `sigstore`
 * names another instance.
 */
export function cosignVerifyKeyless(
  target: Target,
  ref: string,
  o: { repositoryUrl: string; dockerConfig: string; sigstore?: SigstoreInstance; http?: boolean },
): Promise<CommandResult> {
  const identity = `^${o.repositoryUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${WEEKLY_WORKFLOW.replace(/\./g, '\\.')}@`;
  return target.exec(
    [
      ...[
        'env',
        `DOCKER_CONFIG=${o.dockerConfig}`,
        ...envArgs(o.sigstore?.trustEnv ?? {}),
        'cosign',
        'verify',
      ],
      ...['--certificate-identity-regexp', identity, '--certificate-oidc-issuer', ACTIONS_ISSUER],
      ...(o.sigstore ? ['--rekor-url', o.sigstore.rekorUrl] : []),
      ...httpFlag(o.http ?? false),
      ref,
    ],
    { reject: false, timeoutMs: TIMEOUT_MS },
  );
}
