import type { CommandResult } from '../../helpers/command-result.ts';

export interface ExecOptions {
  /** Working directory on the target. */
  cwd?: string;
  /** Extra environment variables for this command. */
  env?: Record<string, string>;
  /** Standard input. */
  input?: string | Buffer;
  /** Kill the command (whole process tree) after this long. Default: 10 minutes. */
  timeoutMs?: number;
  /** Cancel the command. */
  signal?: AbortSignal;
  /** Throw a CommandError on failure (default). With false, the failed result is returned. */
  reject?: boolean;
  /** Bytes of each stream to keep (the tail). Default 1 MiB. */
  maxOutputBytes?: number;
  /** A sentence prefixed to the failure message, saying what the command was for. */
  context?: string;
}

export type TargetKind = 'local' | 'ssh';

/** Where the suite runs its checks: this machine, or a host over one persistent SSH connection. */
export interface Target extends AsyncDisposable {
  readonly kind: TargetKind;
  /** A display name: `local` or `user@host:port`. Never holds a secret. */
  readonly host: string;
  exec(argv: readonly string[], options?: ExecOptions): Promise<CommandResult>;
  /** Copies a local file to the target (sftp over the same connection for SSH). */
  upload(localPath: string, remotePath: string, mode?: number): Promise<void>;
  download(remotePath: string, localPath: string): Promise<void>;
  writeFile(remotePath: string, content: string | Buffer, mode?: number): Promise<void>;
  readFile(remotePath: string): Promise<Buffer>;
  /** A local unix socket path that reaches the Docker engine of the target. */
  dockerSocket(): Promise<string>;
  /**
   * A port on the target's loopback whose connections reach `localPort` on this machine's loopback
   * (the same port for the local target; `ssh -R` over the connection for SSH). Closed with the target.
   */
  reachBack(localPort: number): Promise<ReachBack>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface ReachBack {
  /** The port on the target's 127.0.0.1. */
  port: number;
  /** Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
