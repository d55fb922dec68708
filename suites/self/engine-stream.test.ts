import { describe, expect, it } from 'vitest';
import { engineStreamLost } from '../../helpers/engine-stream.ts';

// Captured stderr: this project's fresh-machine CI of 5463f06 (buildx bake on the docker-container
// builder), and pulumi/pulumi-docker-build#102 (Buildx's docker-container driver on GitHub Actions).
const BAKE = [
  '#11 [par-1 2/2] RUN echo "$MARK $(uname -m)" > /mark.txt',
  'ERROR: failed to solve: Unavailable: connection error: desc = "error reading server preface: read unix @->/run/docker.sock: use of closed network connection"',
].join('\n');
const DIALING =
  'error: listing workers for Build: failed to list workers: Unavailable: connection error: desc = "transport: Error while dialing: use of closed network connection"';
// docker/buildx#3238: the server side's log line, printed beside an unrelated error.
const SERVER_SIDE = [
  '2025/06/11 15:53:20 http2: server: error reading preface from client //./pipe/dockerDesktopLinuxEngine: file has already been closed',
  'ERROR: resolve : CreateFile C:\\missing: The system cannot find the file specified.',
].join('\n');

describe('a Buildx command that lost the engine stream to its builder', () => {
  it('is told by the connection setup failing, and names the line that says so', () => {
    expect(engineStreamLost(BAKE)).toMatch(/^ERROR: failed to solve: .*error reading server preface/);
    expect(engineStreamLost(DIALING)).toMatch(/Error while dialing: use of closed network connection/);
  });

  it('is not told by the server side log line, a build failure, or a refused connection', () => {
    expect(engineStreamLost(SERVER_SIDE)).toBeUndefined();
    expect(
      engineStreamLost(
        'ERROR: failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
      ),
    ).toBeUndefined();
    expect(
      engineStreamLost(
        'ERROR: failed to dial gRPC: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 172.17.0.3:1234: connect: connection refused"',
      ),
    ).toBeUndefined();
  });
});
