/**
 * The lab's Docker flavours (harness/lab/docker-flavours.ts): each has a disk and an instance of its
 * own, and a flavour that differs only in the image store is a copy of the base disk whose daemon.json
 * debugfs rewrote (scripts/vm-flavour.sh), run here on a real ext4 image.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect } from 'vitest';
import { LabLayout, SCRIPTS } from '../../harness/lab/layout.ts';
import { loadConfig } from '../../harness/plan/config.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { needsTools, testNeeding } from './fixtures/needs.ts';

const missing = needsTools(
  ['mkfs.ext4', 'debugfs', 'e2fsck'],
  "a real ext4 image, read and written with e2fsprogs' tools",
);
const test = testNeeding(missing);
const REGISTRY = '10.0.2.2:5311';
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK6b host';
/** The sbin directories a non-root PATH lacks, where e2fsprogs' tools are. */
const PATH = `${process.env.PATH}:/usr/local/sbin:/usr/sbin:/sbin`;

const daemonJson = async (store: string) =>
  (await execa('bash', [join(SCRIPTS, 'daemon-json.sh'), REGISTRY, store])).stdout;
const readInImage = async (image: string, path: string) =>
  (await execa('debugfs', ['-R', `cat ${path}`, image], { env: { PATH }, stderr: 'ignore' })).stdout;

/** A base VM dir as vm-image.sh leaves one: an ext4 disk (with or without daemon.json) and its kernel files. */
async function baseVm(dir: string, withDocker: boolean): Promise<string> {
  const root = join(dir, 'root');
  await mkdir(join(root, 'etc', withDocker ? 'docker' : 'ssh'), { recursive: true });
  if (withDocker) await writeFile(join(root, 'etc/docker/daemon.json'), `${await daemonJson('classic')}\n`);
  const vm = join(dir, 'base');
  await mkdir(vm);
  await execa('mkfs.ext4', ['-q', '-F', '-L', 'labroot', '-d', root, join(vm, 'disk.img'), '32M'], {
    env: { PATH },
  });
  for (const f of ['vmlinux', 'initrd.img', 'kernel-version', 'packages.txt'])
    await writeFile(join(vm, f), f);
  return vm;
}

describe('lab Docker flavours', () => {
  test("a flavour's disk is the base disk with the containerd image store in daemon.json, the base untouched", async () => {
    const dir = await localTempDir('self-flavour');
    const base = await baseVm(dir, true);
    const before = await readFile(join(base, 'disk.img'));
    const out = join(dir, 'derived');
    const r = await execa('bash', [join(SCRIPTS, 'vm-flavour.sh'), base, out, REGISTRY, 'containerd'], {
      env: { PATH },
      reject: false,
      all: true,
    });
    expect(r.exitCode, r.all).toBe(0);
    const wanted = await daemonJson('containerd');
    expect(JSON.parse(wanted)).toEqual({
      'registry-mirrors': [`http://${REGISTRY}`],
      'insecure-registries': [REGISTRY],
      features: { 'containerd-snapshotter': true },
    });
    expect(await readInImage(join(out, 'disk.img'), '/etc/docker/daemon.json')).toBe(wanted);
    expect(await readInImage(join(base, 'disk.img'), '/etc/docker/daemon.json')).toBe(
      await daemonJson('classic'),
    );
    expect((await readFile(join(base, 'disk.img'))).equals(before), 'the base disk changed').toBe(true);
    expect(await readFile(join(out, 'kernel-version'), 'utf8')).toBe('kernel-version');
  });

  test('a base disk without Docker is refused, naming what failed, and leaves no disk behind', async () => {
    const dir = await localTempDir('self-flavour-broken');
    const base = await baseVm(dir, false);
    const out = join(dir, 'derived');
    const r = await execa('bash', [join(SCRIPTS, 'vm-flavour.sh'), base, out, REGISTRY, 'containerd'], {
      env: { PATH },
      reject: false,
      all: true,
    });
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toMatch(/writing daemon.json into the flavour's disk failed/);
    const left = await execa('ls', [dir]);
    expect(left.stdout.split('\n').sort()).toEqual(['base', 'root']);
  });

  test('an unknown image store is refused by name', async () => {
    const r = await execa('bash', [join(SCRIPTS, 'daemon-json.sh'), REGISTRY, 'overlay'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("daemon-json.sh: image store 'overlay' is neither classic nor containerd");
  });
});

describe('lab Docker flavour keys', () => {
  const layout = (docker: string) =>
    new LabLayout(loadConfig({ env: { BKA_LAB_DOCKER: docker, BKA_LAB_DIR: '/lab' } }).lab);

  test('each flavour has its own disk and instance; the containerd store on trixie derives from trixie', () => {
    const [trixie, containerd, sid] = ['trixie', 'trixie-containerd', 'sid-containerd'].map(layout);
    const keys = [trixie, containerd, sid].map((l) => l!.vmKey(HOST_KEY));
    expect(new Set(keys).size).toBe(3);
    expect(containerd!.derivedFrom(HOST_KEY)).toBe(keys[0]);
    expect(trixie!.derivedFrom(HOST_KEY)).toBeUndefined();
    expect(sid!.derivedFrom(HOST_KEY)).toBeUndefined();
    expect([trixie, containerd, sid].map((l) => l!.instanceDir)).toEqual([
      '/lab/instance',
      '/lab/instance-trixie-containerd',
      '/lab/instance-sid-containerd',
    ]);
  });
});
