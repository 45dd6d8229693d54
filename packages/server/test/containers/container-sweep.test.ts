/**
 * The sweep of leftover containers, against a real engine (Podman's Docker API service): it
 * removes this installation's containers whose attempt is not in flight, and leaves alone those
 * of attempts in flight and those of other installations. And the engine flag's parsing.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { ContainerEngines, dockerOptions, parseEngineConfig } from '../../src/containers/engines.ts';
import { LABEL_ATTEMPT, LABEL_OWNER, LABEL_RUN } from '../../src/containers/container-run.ts';
import { ContainerSweep } from '../../src/dispatch/container-transport.ts';
import { PodmanEngine, TEST_IMAGE } from '../support/podman.ts';

let engine: PodmanEngine;
beforeAll(async () => {
  engine = await new PodmanEngine().start();
}, 120_000);
afterAll(async () => engine?.stop());

describe('ContainerSweep', () => {
  it('removes the containers of ended, unknown and superseded attempts of its installation only', async () => {
    const docker = new Docker({ socketPath: engine.socket });
    const suffix = `${process.pid}-${Date.now()}`;
    const make = (owner: string, runId: string, attempt: number) => docker.createContainer({
      Image: TEST_IMAGE, Cmd: ['sleep', '600'], Labels: { [LABEL_OWNER]: owner, [LABEL_RUN]: runId, [LABEL_ATTEMPT]: String(attempt) },
    });
    const mine = `mine-${suffix}`;
    await make(mine, `gone-${suffix}`, 1);
    await make(mine, `ended-${suffix}`, 1);
    await make(mine, `retried-${suffix}`, 1);
    await make(mine, `live-${suffix}`, 2);
    await make(`other-${suffix}`, `gone2-${suffix}`, 1);
    const runs: Record<string, { status: string; attempt: number }> = {
      [`ended-${suffix}`]: { status: 'succeeded', attempt: 1 },
      [`retried-${suffix}`]: { status: 'running', attempt: 2 },
      [`live-${suffix}`]: { status: 'running', attempt: 2 },
    };
    const sweep = new ContainerSweep({
      engines: new ContainerEngines([{ name: 'default', address: engine.address }]),
      owner: mine, clock: systemClock, minAgeMs: 0, stopGraceMs: 0, log: () => {},
      store: {
        getRun: async (id: string) => (runs[id] ?? null) as never,
        getNamespace: async () => null,
        appendRunLogs: async () => 0,
      },
    });
    expect(await sweep.sweep()).toBe(3);
    expect(await engine.containers(`${LABEL_OWNER}=${mine}`)).toHaveLength(1);
    expect(await engine.containers(`${LABEL_RUN}=live-${suffix}`)).toHaveLength(1);
    expect(await engine.containers(`${LABEL_RUN}=gone2-${suffix}`)).toHaveLength(1);
    for (const info of await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}`] } })) {
      if (info.Labels[LABEL_RUN]?.endsWith(suffix)) await docker.getContainer(info.Id).remove({ force: true });
    }
  });
});

describe('--container-engine', () => {
  it('parses NAME=ADDRESS, a bare address as the default engine, and refuses the rest with CONFIG_INVALID', () => {
    expect(parseEngineConfig('podman=unix:///run/podman/podman.sock')).toEqual({ name: 'podman', address: 'unix:///run/podman/podman.sock' });
    expect(parseEngineConfig('unix:///var/run/docker.sock')).toEqual({ name: 'default', address: 'unix:///var/run/docker.sock' });
    expect(parseEngineConfig('/var/run/docker.sock')).toEqual({ name: 'default', address: '/var/run/docker.sock' });
    expect(dockerOptions('tcp://10.0.0.5:2375')).toEqual({ host: '10.0.0.5', port: '2375', protocol: 'http' });
    expect(dockerOptions('https://docker.example', undefined, {})).toEqual({ host: 'docker.example', port: '2376', protocol: 'https' });
    expect(() => parseEngineConfig('bad name=unix:///x.sock')).toThrow(/CONFIG_INVALID|not an engine name/);
    expect(() => parseEngineConfig('e=ftp://host')).toThrow(/unsupported scheme ftp:/);
    expect(() => parseEngineConfig('e=not a url')).toThrow(/not an engine address/);
    expect(() => new ContainerEngines([{ name: 'a', address: '/x.sock' }, { name: 'a', address: '/y.sock' }])).toThrow(/given twice/);
    const engines = new ContainerEngines([{ name: 'podman', address: '/x.sock' }]);
    expect(engines.get(undefined)).toBeNull();
    expect(engines.missing(undefined)).toMatch(/^CONTAINER_ENGINE_NOT_CONFIGURED: this server has no container engine "default" \(it has "podman"\)/);
  });
});
