/**
 * The target over one persistent ssh2 connection: connect (host key verified, one sentence on failure),
 * exec with timeouts and command evidence, sftp file transfer, and the Docker socket forwarded over the
 * same connection. Over 250 lines because it is one connection's life: every part shares its state
 * (the client, the channel semaphore, reconnect after a loss, close).
 */
import { readFile, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join, posix } from 'node:path';
import type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';
import { CommandError, type CommandResult, makeResult } from '../../helpers/command-result.ts';
import { errorMessage, TargetUnreachableError } from '../../helpers/errors.ts';
import { quoteArg, quoteCommand } from '../../helpers/quote.ts';
import { registerSecret } from '../../helpers/redact.ts';
import { TailBuffer } from '../../helpers/tail-buffer.ts';
import { type HostKeyPolicy, verifyHostKey } from './host-key.ts';
import { localTempDir } from './local-temp.ts';
import { Semaphore } from './semaphore.ts';
import { DEFAULT_TIMEOUT_MS, type ExecOptions, type ReachBack, type Target } from './target.ts';

const { Client } = ssh2;
type Client = InstanceType<typeof Client>;

export interface SshTargetOptions {
  host: string;
  port: number;
  user: string;
  /** Private key files to offer (ed25519 and others); the agent (SSH_AUTH_SOCK) is used as well. */
  identityFiles: string[];
  passphrase?: string;
  agentSocket?: string;
  hostKey: HostKeyPolicy;
  /** How long the TCP connect + handshake + auth may take. */
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** Exec channels open at once; keep below sshd's MaxSessions (10), leaving room for sftp. */
  maxChannels: number;
  /** The Docker engine's socket on the target. */
  dockerSocketPath: string;
  /** Called with one line when something worth saying happens (a reconnect). */
  log?: (line: string) => void;
}

export const SSH_DEFAULTS = {
  port: 22,
  connectTimeoutMs: 10_000,
  keepaliveIntervalMs: 10_000,
  maxChannels: 8,
  dockerSocketPath: '/var/run/docker.sock',
} as const;

class ConnectionLost extends Error {}

/**
 * A host over one persistent ssh2 connection: every command, file transfer and the Docker socket
 * forward share it. Keepalive on, channels bounded, one reconnect after a drop (and it says so).
 */
export class SshTarget implements Target {
  readonly kind = 'ssh' as const;
  readonly host: string;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private readonly channels: Semaphore;
  private dockerForward: { server: Server; dir: string; path: string; sockets: Set<Socket> } | undefined;
  private closed = false;
  /** Remote forwards (`ssh -R`): the target's port to this machine's, and the client that holds them. */
  private readonly reverse = new Map<number, number>();
  private reverseOn: Client | undefined;
  private everConnected = false;
  reconnects = 0;
  hostKeyVerifiedBy = '';

  constructor(private readonly options: SshTargetOptions) {
    this.host = `${options.user}@${options.host}:${options.port}`;
    this.channels = new Semaphore(options.maxChannels);
    registerSecret(options.passphrase);
  }

  /** Connects (once) and returns the live client; after a drop, reconnects one time. */
  async connect(): Promise<Client> {
    if (this.closed) throw new TargetUnreachableError(`ssh ${this.host}: the target was closed`);
    if (this.client) return this.client;
    if (!this.connecting) {
      const isReconnect = this.everConnected;
      this.connecting = this.openConnection()
        .then((client) => {
          this.client = client;
          this.everConnected = true;
          if (isReconnect) {
            this.reconnects++;
            this.options.log?.(`ssh: the connection to ${this.host} was lost; reconnected`);
          }
          return client;
        })
        .finally(() => {
          this.connecting = undefined;
        });
    }
    return this.connecting;
  }

  private async authConfig(): Promise<Partial<ConnectConfig>> {
    const keys: Buffer[] = [];
    const missing: string[] = [];
    for (const file of this.options.identityFiles) {
      try {
        keys.push(await readFile(file));
      } catch {
        missing.push(file);
      }
    }
    const agent = this.options.agentSocket;
    if (keys.length === 0 && !agent) {
      throw new TargetUnreachableError(
        `ssh ${this.host}: no private key to offer (${missing.join(', ') || 'none configured'} not readable) and no ssh-agent (SSH_AUTH_SOCK)`,
      );
    }
    return { privateKey: keys[0], passphrase: this.options.passphrase, agent };
  }

  private async openConnection(): Promise<Client> {
    const auth = await this.authConfig();
    const { host, port, user } = this.options;
    let hostKeyRefusal: string | undefined;
    let hostKeyCheck: Promise<void> = Promise.resolve();
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let settled = false;
      const fail = (sentence: string) => {
        if (settled) return;
        settled = true;
        client.end();
        reject(new TargetUnreachableError(`ssh ${this.host}: ${sentence}`));
      };
      const guard = setTimeout(
        () =>
          fail(
            `no SSH session within ${this.options.connectTimeoutMs / 1000}s (host down, port filtered, or sshd stalled)`,
          ),
        this.options.connectTimeoutMs + 2000,
      );
      client.on('ready', () => {
        clearTimeout(guard);
        if (settled) return;
        settled = true;
        client.on('close', () => {
          if (this.client === client) {
            this.client = undefined;
            this.sftpSession = undefined;
          }
        });
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        clearTimeout(guard);
        void hostKeyCheck.then(() => {
          if (hostKeyRefusal) return fail(hostKeyRefusal);
          if (err.level === 'client-authentication') {
            return fail(
              `the server refused authentication for user ${user} (offered ${this.options.identityFiles.length ? this.options.identityFiles.join(', ') : 'no key file'}${auth.agent ? ' and the ssh-agent keys' : ''})`,
            );
          }
          if (err.level === 'client-timeout')
            return fail(`timed out after ${this.options.connectTimeoutMs / 1000}s during the SSH handshake`);
          if (err.code === 'ECONNREFUSED')
            return fail(`connection refused (is sshd listening on ${host}:${port}?)`);
          if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN')
            return fail(`the host name ${host} does not resolve`);
          if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return fail(`no route to ${host}`);
          if (err.code === 'ETIMEDOUT') return fail(`the TCP connection to ${host}:${port} timed out`);
          if (/encrypted private key|passphrase/i.test(err.message))
            return fail(
              `the private key is encrypted: give its passphrase (BKA_SSH_PASSPHRASE) or use ssh-agent`,
            );
          if (/Cannot parse privateKey|Unsupported key format/i.test(err.message))
            return fail(`the private key cannot be read: ${err.message}`);
          return fail(errorMessage(err));
        });
      });
      try {
        client.connect({
          host,
          port,
          username: user,
          ...auth,
          readyTimeout: this.options.connectTimeoutMs,
          keepaliveInterval: this.options.keepaliveIntervalMs,
          keepaliveCountMax: 3,
          hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
            hostKeyCheck = verifyHostKey(key, host, port, this.options.hostKey).then(
              (verdict) => {
                if (verdict.ok) this.hostKeyVerifiedBy = verdict.how;
                else hostKeyRefusal = verdict.sentence;
                verify(verdict.ok);
              },
              (err) => {
                hostKeyRefusal = `could not check the host key: ${errorMessage(err)}`;
                verify(false);
              },
            );
          },
        } as ConnectConfig);
      } catch (err) {
        clearTimeout(guard);
        fail(errorMessage(err));
      }
    });
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    if (argv.length === 0) throw new TypeError('exec: argv must name a command');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = new Date();
    const t0 = performance.now();
    const stdout = new TailBuffer(options.maxOutputBytes);
    const stderr = new TailBuffer(options.maxOutputBytes);
    let exitCode: number | undefined;
    let signal: string | undefined;
    let timedOut = false;
    let canceled = false;
    let cause: unknown;

    try {
      await this.channels.use(async () => {
        const client = await this.connect();
        const line = this.remoteCommandLine(argv, options, timeoutMs);
        await new Promise<void>((resolve, reject) => {
          client.exec(line, (err, stream: ClientChannel) => {
            if (err)
              return reject(err.message.includes('Not connected') ? new ConnectionLost(err.message) : err);
            let done = false;
            const onClientClose = () => {
              if (!done) {
                done = true;
                cleanup();
                reject(
                  new ConnectionLost(`the SSH connection to ${this.host} was lost while the command ran`),
                );
              }
            };
            client.once('close', onClientClose);
            // Local guard: the remote `timeout` should fire first; this catches a stalled channel.
            const guard = setTimeout(
              () => {
                timedOut = true;
                stream.signal('KILL');
                stream.close();
              },
              options.timeoutMs === undefined ? timeoutMs : timeoutMs + 15_000,
            );
            const onAbort = () => {
              canceled = true;
              stream.signal('TERM');
              setTimeout(() => stream.close(), 2000).unref();
            };
            options.signal?.addEventListener('abort', onAbort, { once: true });
            if (options.signal?.aborted) onAbort();
            const cleanup = () => {
              clearTimeout(guard);
              client.removeListener('close', onClientClose);
              options.signal?.removeEventListener('abort', onAbort);
            };
            stream.on('data', (c: Buffer) => stdout.push(c));
            stream.stderr.on('data', (c: Buffer) => stderr.push(c));
            stream.on('exit', (code: number | null, sig?: string) => {
              if (code !== null && code !== undefined) exitCode = code;
              if (sig) signal = sig.startsWith('SIG') ? sig : `SIG${sig}`;
            });
            stream.on('close', () => {
              if (done) return;
              done = true;
              cleanup();
              resolve();
            });
            if (options.input !== undefined) stream.end(options.input);
            else stream.end();
          });
        });
      });
    } catch (err) {
      if (err instanceof TargetUnreachableError) throw err;
      cause = err;
      exitCode = undefined;
      stderr.push(`\n[harness] ${errorMessage(err)}`);
    }
    // GNU timeout: 124 when the limit hit, 137 when it had to SIGKILL.
    if (!canceled && (exitCode === 124 || (exitCode === 137 && performance.now() - t0 >= timeoutMs))) {
      timedOut = true;
    }
    const result = makeResult({
      argv,
      host: this.host,
      exitCode,
      signal,
      stdout: stdout.toString(),
      stderr: stderr.toString(),
      durationMs: performance.now() - t0,
      timedOut,
      isCanceled: canceled,
      startedAt: started,
    });
    if (result.failed && options.reject !== false) {
      throw new CommandError(result, { cause, context: options.context });
    }
    return result;
  }

  /**
   * The one place argv is joined into a shell line. An explicit timeout runs the command under GNU
   * `timeout`, which kills its whole process group; without one, the default limit is enforced from
   * here (signal, then channel close), and the command costs no extra process on the target.
   */
  private remoteCommandLine(argv: readonly string[], options: ExecOptions, timeoutMs: number): string {
    const parts: string[] = [];
    if (options.cwd) parts.push(`cd ${quoteArg(options.cwd)} &&`);
    const hasEnv = options.env && Object.keys(options.env).length > 0;
    if (hasEnv || options.timeoutMs !== undefined) parts.push('exec');
    if (hasEnv) parts.push('env', ...Object.entries(options.env!).map(([k, v]) => quoteArg(`${k}=${v}`)));
    if (options.timeoutMs !== undefined) {
      parts.push('timeout', '-k', '5', `${Math.max(1, Math.ceil(timeoutMs / 1000))}`);
    }
    parts.push(quoteCommand(argv));
    return parts.join(' ');
  }

  private async sftp(): Promise<SFTPWrapper> {
    const client = await this.connect();
    if (!this.sftpSession) {
      this.sftpSession = new Promise<SFTPWrapper>((resolve, reject) =>
        client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))),
      );
      this.sftpSession.catch(() => {
        this.sftpSession = undefined;
      });
    }
    return this.sftpSession;
  }

  private async mkdirp(dir: string): Promise<void> {
    await this.exec(['mkdir', '-p', dir], { timeoutMs: 30_000, context: `creating ${dir}` });
  }

  async upload(localPath: string, remotePath: string, mode?: number): Promise<void> {
    await this.mkdirp(posix.dirname(remotePath));
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.fastPut(localPath, remotePath, (err) =>
        err
          ? reject(new Error(`sftp upload to ${this.host}:${remotePath} failed: ${err.message}`))
          : resolve(),
      ),
    );
    if (mode !== undefined) await this.chmod(sftp, remotePath, mode);
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.fastGet(remotePath, localPath, (err) =>
        err
          ? reject(new Error(`sftp download of ${this.host}:${remotePath} failed: ${err.message}`))
          : resolve(),
      ),
    );
  }

  async writeFile(remotePath: string, content: string | Buffer, mode?: number): Promise<void> {
    await this.mkdirp(posix.dirname(remotePath));
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(remotePath, content, (err) =>
        err
          ? reject(new Error(`sftp write of ${this.host}:${remotePath} failed: ${err.message}`))
          : resolve(),
      ),
    );
    if (mode !== undefined) await this.chmod(sftp, remotePath, mode);
  }

  async readFile(remotePath: string): Promise<Buffer> {
    const sftp = await this.sftp();
    return new Promise<Buffer>((resolve, reject) =>
      sftp.readFile(remotePath, (err: Error | undefined, data: Buffer) =>
        err
          ? reject(new Error(`sftp read of ${this.host}:${remotePath} failed: ${err.message}`))
          : resolve(data),
      ),
    );
  }

  private chmod(sftp: SFTPWrapper, path: string, mode: number): Promise<void> {
    return new Promise((resolve, reject) => sftp.chmod(path, mode, (err) => (err ? reject(err) : resolve())));
  }

  /** The target's Docker socket, forwarded through this connection to a local unix socket. */
  async dockerSocket(): Promise<string> {
    if (this.dockerForward) return this.dockerForward.path;
    await this.connect();
    // Removed on close, and by the process's exit hook when a worker exits without closing its target.
    const dir = await localTempDir('docker');
    const path = join(dir, 'docker.sock');
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      this.connect().then(
        (client) =>
          client.openssh_forwardOutStreamLocal(this.options.dockerSocketPath, (err, channel) => {
            if (err) {
              this.options.log?.(
                `ssh: cannot reach ${this.options.dockerSocketPath} on ${this.host}: ${err.message}`,
              );
              socket.destroy();
              return;
            }
            socket.pipe(channel).pipe(socket);
            channel.on('error', () => socket.destroy());
            socket.on('error', () => channel.close());
          }),
        () => socket.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    this.dockerForward = { server, dir, path, sockets };
    return path;
  }

  /**
   * `ssh -R 127.0.0.1:0:127.0.0.1:localPort` over this connection: the server picks the port. Lost with
   * the connection (a reconnect does not restore it; the command that used it then fails, saying so).
   */
  async reachBack(localPort: number): Promise<ReachBack> {
    const client = await this.connect();
    if (this.reverseOn !== client) {
      this.reverseOn = client;
      client.on('tcp connection', (details, accept, reject) => {
        const local = this.reverse.get(details.destPort);
        if (local === undefined) return reject();
        const channel = accept();
        const socket = createConnection(local, '127.0.0.1');
        socket.pipe(channel).pipe(socket);
        socket.on('error', () => channel.close());
        channel.on('error', () => socket.destroy());
      });
    }
    const port = await new Promise<number>((resolve, reject) =>
      client.forwardIn('127.0.0.1', 0, (err, p) =>
        err
          ? reject(
              new TargetUnreachableError(
                `ssh ${this.host}: the server refused a remote forward to this machine's port ${localPort} (sshd's AllowTcpForwarding): ${err.message}`,
              ),
            )
          : resolve(p),
      ),
    );
    this.reverse.set(port, localPort);
    return {
      port,
      close: async () => {
        if (!this.reverse.delete(port) || this.client !== client) return;
        await new Promise<void>((resolve) => client.unforwardIn('127.0.0.1', port, () => resolve()));
      },
    };
  }

  /** Drops the connection without closing the target (tests use it to prove the reconnect). */
  dropConnection(): void {
    this.client?.destroy();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.dockerForward) {
      const { server, dir, sockets } = this.dockerForward;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
      this.dockerForward = undefined;
    }
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    client?.end();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export function defaultIdentityFiles(): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f));
}
