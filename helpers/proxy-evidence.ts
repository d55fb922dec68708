/** The proxy values a build is given, as BuildKit's predefined build args. */
export type ProxyValues = Record<'HTTP_PROXY' | 'HTTPS_PROXY' | 'NO_PROXY', string>;

/** What a build of fixtures/buildx/proxy left, and what the proxy and its origin saw. */
export interface ProxyEvidence {
  given: ProxyValues;
  /** proxy-env.txt of the build: the values RUN saw. */
  seenByRun: string;
  /** status.txt of the build: the status line RUN got for the probe URL. */
  status: string;
  /** The proxy's own log. */
  proxyLog: string;
  probePath: string;
  /** The Via header of each request for the probe path at the origin. */
  viaAtOrigin: string[];
}

/** Why the evidence does not show RUN's request going through the proxy (empty when it does). */
export function proxyProblems(e: ProxyEvidence): string[] {
  const problems: string[] = [];
  const want = `HTTP_PROXY=${e.given.HTTP_PROXY}\nHTTPS_PROXY=${e.given.HTTPS_PROXY}\nNO_PROXY=${e.given.NO_PROXY}\n`;
  if (e.seenByRun !== want) problems.push(`RUN saw other proxy values:\n${e.seenByRun}\nnot\n${want}`);
  if (!/^HTTP\/1\.[01] 200/.test(e.status))
    problems.push(`RUN got '${e.status}' for ${e.probePath}, not 200`);
  if (!e.proxyLog.split('\n').some((l) => l.includes(e.probePath) && /GET http:\/\//.test(l)))
    problems.push(`the proxy's log has no request for ${e.probePath}:\n${e.proxyLog.trim().slice(-2000)}`);
  if (e.viaAtOrigin.length !== 1 || !e.viaAtOrigin[0]?.includes('tinyproxy'))
    problems.push(
      `the origin saw ${e.viaAtOrigin.length} request(s) for ${e.probePath}, with Via ${JSON.stringify(e.viaAtOrigin)} (one, through tinyproxy, expected)`,
    );
  return problems;
}
