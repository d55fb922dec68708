/** The Docker engine probe's reading of what `docker version` printed: answered, slow, or refused and why. */
import { describe, expect, test } from 'vitest';
import { engineProblem, parseEngineProbe } from '../../harness/docker/docker-engine.ts';

describe('the Docker engine probe', () => {
  test('reads a version, a time-out (slow) and each refusal from what docker version printed', () => {
    expect(parseEngineProbe('0|0.52 0.61 0.70|29.0.1')).toEqual({ state: 'answered', version: '29.0.1' });
    expect(parseEngineProbe('124|4.68 3.20 1.50|')).toEqual({ state: 'slow', loadAverage: '4.68 3.20 1.50' });
    const denied = parseEngineProbe(
      '1|0.10 0.20 0.30|permission denied while trying to connect to the docker API at unix:///var/run/docker.sock',
    );
    expect(denied).toEqual({ state: 'refused', why: 'refused: permission denied on /var/run/docker.sock' });
    expect(engineProblem(denied, 'board', 'runner')).toBe(
      'the Docker engine on board refused: permission denied on /var/run/docker.sock (is runner in the docker group? sudo usermod -aG docker runner, then a new login)',
    );
    const stopped = parseEngineProbe(
      '1|0.1 0.1 0.1|Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    );
    expect(engineProblem(stopped, 'board', 'runner')).toBe(
      'the Docker engine on board refused: nothing answers on /var/run/docker.sock (dockerd is not running) (sudo systemctl start docker)',
    );
    // A CLI that printed a client error but exited 0 is not an answer.
    expect(parseEngineProbe('0|1 1 1|Error response from daemon: 500').state).toBe('refused');
    expect(engineProblem({ state: 'slow', loadAverage: '9.1 8 7' }, 'board', 'runner', 300_000)).toBe(
      'the Docker engine on board did not answer runner within 5m0s (load average 9.1 8 7): it is busy or hung, not refused',
    );
  });
});
