import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { localTempDir } from './local-temp.ts';

/** A CA, a server certificate (for 127.0.0.1/localhost) and client certificates, made at run time. */
export interface CertSet {
  dir: string;
  files: string[];
}

async function openssl(args: string[], cwd: string) {
  await execa('openssl', args, { cwd });
}

async function ca(dir: string, name: string) {
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

async function leaf(dir: string, name: string, caName: string, ext: string) {
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.csr`,
    ],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.pem`,
      '-CAkey',
      `${caName}-key.pem`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

/**
 * ca.pem, server.pem/server-key.pem (SAN 127.0.0.1, localhost), client.pem/client-key.pem signed by
 * the same CA, and other-client.pem/other-client-key.pem signed by a different CA.
 */
export async function makeCerts(): Promise<CertSet> {
  const dir = await localTempDir('certs');
  await ca(dir, 'ca');
  await ca(dir, 'other-ca');
  await leaf(dir, 'server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await leaf(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\n');
  await leaf(dir, 'other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  const files = [
    'ca.pem',
    'server.pem',
    'server-key.pem',
    'client.pem',
    'client-key.pem',
    'other-client.pem',
    'other-client-key.pem',
  ];
  return { dir, files };
}
