/**
 * Keyless signing as the weekly workflow does it, on the target, against the Sigstore stand-in
 * (automation/sigstore-standin): GitHub Actions' OIDC issuer, Fulcio, a CT log and Rekor, each held to
 * its published contract. The stand-in runs on this machine and the target reaches it through
 * `Target.reachBack` (over SSH, a remote forward); its trust files are written to a temp dir on the
 * target. A test never knows where it runs: it asks for a token file and gets the cosign endpoints.
 */
import type { WorkflowRun } from '../../automation/sigstore-standin/actions-oidc.ts';
import { SigstoreStandin, UNTRUSTED } from '../../automation/sigstore-standin/server.ts';
import type { SigstoreInstance } from '../docker/cosign.ts';
import type { PhaseContext } from '../run/phase-context.ts';

/** The repository the stand-in's tokens name when no project repository is known (no GitHub remote). */
export const STANDIN_PROJECT = {
  owner: 'buildkit-riscv64-acceptance',
  name: 'buildkit-riscv64',
  url: 'https://github.com/buildkit-riscv64-acceptance/buildkit-riscv64',
};

export interface KeylessSigning {
  /** The instance as cosign on the target reaches it. */
  sigstore: SigstoreInstance;
  /** The same instance but a Fulcio whose root is not in its trust files (another authority). */
  untrusted: SigstoreInstance;
  /** A file on the target holding a fresh ID token for `run` (mode 0600). */
  tokenFile(run: WorkflowRun): Promise<string>;
  /** What the stand-in refused, for a failure's evidence. */
  refusals: readonly string[];
}

export async function keylessSigning(ctx: PhaseContext, name: string): Promise<KeylessSigning> {
  const standin = await SigstoreStandin.start();
  ctx.resources.defer(`the Sigstore stand-in ${name} (${standin.url})`, () => standin.stop());
  const back = await ctx.target.reachBack(standin.port);
  ctx.resources.defer(`the target's port ${back.port} to the Sigstore stand-in ${name}`, () => back.close());
  const dir = await ctx.resources.tempDir(`sigstore-${name}`);
  const trust = standin.trust();
  const files = {
    SIGSTORE_ROOT_FILE: [`${dir}/fulcio-root.pem`, trust.fulcioRoot],
    SIGSTORE_REKOR_PUBLIC_KEY: [`${dir}/rekor.pub`, trust.rekorKey],
    SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: [`${dir}/ctlog.pub`, trust.ctLogKey],
  } as const;
  for (const [path, pem] of Object.values(files)) await ctx.target.writeFile(path, pem, 0o644);
  const url = `http://127.0.0.1:${back.port}`;
  let tokens = 0;
  const sigstore = {
    fulcioUrl: url,
    rekorUrl: url,
    trustEnv: Object.fromEntries(Object.entries(files).map(([k, [path]]) => [k, path])),
  };
  return {
    sigstore,
    untrusted: { ...sigstore, fulcioUrl: `${url}${UNTRUSTED}` },
    async tokenFile(run) {
      const path = `${dir}/token-${++tokens}`;
      await ctx.target.writeFile(path, standin.token(run), 0o600);
      return path;
    },
    refusals: standin.refusals,
  };
}
