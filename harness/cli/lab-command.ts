import { spawn } from 'node:child_process';
import { ConfigError, TargetUnreachableError } from '../../helpers/errors.ts';
import { quoteCommand } from '../../helpers/quote.ts';
import { factsAsProperties } from '../docker/facts.ts';
import { Lab } from '../lab/lab.ts';
import type { Config } from '../plan/config.ts';
import { preflight } from '../run/session.ts';
import { EXIT } from './help.ts';

/** `lab up|down|status|ssh|destroy`. */
export async function labCommand(
  config: Config,
  sub: string | undefined,
  command: string[],
): Promise<number> {
  const lab = new Lab(config.lab);
  switch (sub) {
    case 'up': {
      const ep = await lab.up();
      // `lab up` returns with the whole lab made: the other platforms' base images included.
      await lab.basesSettled();
      const bases = await lab.basesStatus();
      if (bases) {
        process.stderr.write(
          `lab: up, but its base images for ${bases.platforms.join(', ')} ${'error' in bases ? `failed: ${bases.error}` : 'are still being made'}\n`,
        );
        return EXIT.failed;
      }
      process.stdout.write(
        `lab: up; ssh -i ${ep.identityFile} -p ${ep.port} -o UserKnownHostsFile=${ep.knownHostsFile} ${ep.user}@${ep.host}\n`,
      );
      return EXIT.ok;
    }
    case 'down': {
      const t0 = performance.now();
      await lab.down();
      // `down` means no lab VM left: one of another flavour than the configured one goes down too.
      const others = await lab.otherFlavoursRunning();
      for (const { docker } of others) await new Lab({ ...config.lab, docker }).down();
      const also = others
        .map((o) => ` (and the ${o.docker} VM that was running, qemu pid ${o.qemuPid})`)
        .join('');
      process.stdout.write(`lab: down in ${((performance.now() - t0) / 1000).toFixed(1)}s${also}\n`);
      return EXIT.ok;
    }
    case 'destroy':
      await lab.destroy();
      process.stdout.write(`lab: destroyed ${config.lab.dir}\n`);
      return EXIT.ok;
    case 'status': {
      const state = await lab.running();
      process.stdout.write(
        `state      ${state ? `running (qemu pid ${state.qemuPid}, since ${state.startedAt})` : 'stopped'}\n`,
      );
      process.stdout.write(`cache      ${config.lab.dir}: ${await lab.cacheSize()}\n`);
      process.stdout.write(`docker     ${lab.dockerFlavour.name}: ${lab.dockerFlavour.proves}\n`);
      const index = await lab.debianIndex();
      if (index) process.stdout.write(`index      ${index.mirror} dists/${index.name}: ${index.reason}\n`);
      const bases = await lab.basesStatus();
      if (bases)
        process.stdout.write(
          `bases      ${bases.platforms.join(', ')}: ${'error' in bases ? `failed: ${bases.error}` : `being made since ${bases.since}`}\n`,
        );
      if (state) {
        const ep = await lab.endpoint();
        process.stdout.write(
          `ssh        ssh://${ep.user}@${ep.host}:${ep.port} (host key ${ep.hostKeyFingerprint})\n`,
        );
        process.stdout.write(`registry   ${ep.registryFromHost} (from the VM: ${ep.registryFromGuest})\n`);
        process.stdout.write(
          `debian     ${ep.debianMirrorFromHost} (from the VM: ${ep.debianMirrorFromGuest}; pinned index)\n`,
        );
        const target = await lab.connect();
        try {
          const { facts } = await preflight(target, { ...config, allowNonRiscv64: true }, false);
          for (const [k, v] of Object.entries(factsAsProperties(facts)))
            process.stdout.write(`${k.padEnd(26)} ${v}\n`);
        } finally {
          await target.close();
        }
      }
      return EXIT.ok;
    }
    case 'ssh': {
      if (!(await lab.running()))
        throw new TargetUnreachableError('lab: the lab is not running (buildkit-acceptance lab up)');
      const ep = await lab.endpoint();
      // With a command (`lab ssh -- docker ps`), ssh runs it and exits with its status. OpenSSH joins its
      // arguments with spaces for the remote shell: quote them, so argv arrives as given.
      const remote = command.length > 0 ? [quoteCommand(command)] : [];
      const child = spawn('ssh', [...Lab.sshArgs(ep), `${ep.user}@${ep.host}`, ...remote], {
        stdio: 'inherit',
      });
      return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    }
    default:
      throw new ConfigError(`usage: lab takes up, down, status, ssh or destroy (got ${sub ?? 'nothing'})`);
  }
}
