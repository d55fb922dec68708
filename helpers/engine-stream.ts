/**
 * A Buildx command whose connection to a docker-container builder was lost in the engine, not in the
 * daemon. Buildx reaches that builder through a hijacked `docker exec ... buildctl dial-stdio` stream on
 * the engine's socket; when a loaded engine closes it, gRPC reports the connection's setup failing.
 * The server side's own log line (`http2: server: error reading preface from client`) is not this: it
 * is printed beside unrelated outcomes, successful ones included.
 */
const LOST = [
  // The stream closed before the daemon's HTTP/2 settings arrived.
  /error reading server preface/,
  // The dialer's stream was already closed when gRPC dialled through it.
  /transport: Error while dialing:? use of closed network connection/,
];

/** The line of `stderr` saying the engine's stream to the builder was lost, if one does. */
export function engineStreamLost(stderr: string): string | undefined {
  return stderr
    .split('\n')
    .find((line) => LOST.some((re) => re.test(line)))
    ?.trim();
}
