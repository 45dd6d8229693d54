import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import type { GlobalOptions } from '../context.ts';
import { VERSION } from '../../version.ts';

interface AgentFlags {
  config: string;
  group?: string;
  id?: string;
  listen?: string;
  containerEngine: string[];
}

/**
 * `ecron agent --config FILE`: runs the shell commands that the executor group's tasks send, as far
 * as the config's allowlist allows, until SIGTERM or SIGINT. The first signal stops gracefully
 * (runs in flight get shutdownGraceMs, then their process groups are terminated); a second one
 * kills the commands' process groups and exits at once.
 */
export function registerAgentCommand(program: Command): void {
  program.command('agent')
    .description('run an agent: the shell executor of an executor group (only commands its allowlist allows)')
    .requiredOption('--config <file>', 'agent config file, YAML or JSON (see docs/executors.md#agent)')
    .option('--group <group>', 'executor group (overrides the config)')
    .option('--id <id>', 'node id in the executor registry (overrides the config)')
    .option('--listen <host:port>', 'where to listen for runs in push mode (overrides the config)')
    .option('--container-engine <name=address>', 'run the group\'s container targets on this Docker Engine API (Docker or Podman): NAME=unix:///path.sock, tcp://host:port or https://host:port; an address alone names "default" (repeatable; over the config\'s containers.engines)',
      (value: string, all: string[]) => [...all, value], [] as string[])
    .action(async (flags: AgentFlags, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      // Loaded here, so that other commands do not load the SDK.
      const { AgentConfigError, loadAgentConfig } = await import('../../agent/config.ts');
      let config;
      try {
        config = loadAgentConfig(flags.config, {
          flags: { server: globals.server, token: globals.token, group: flags.group, id: flags.id, listen: flags.listen, containerEngines: flags.containerEngine },
          env: process.env,
          cwd: process.cwd(),
        });
      } catch (error) {
        if (!(error instanceof AgentConfigError)) throw error;
        const message = `${error.file ?? 'the agent config'} is invalid (${error.issues.length} ${error.issues.length === 1 ? 'issue' : 'issues'})`;
        const issues = error.issues.map((issue) => (issue.path ? issue : { ...issue, path: '(file)' }));
        throw new CliError(error.code, message, { details: { file: error.file, issues }, exitCode: 2 });
      }
      // Entries kept with allowDangerous: true are said once, before the agent takes any run.
      for (const warning of config.warnings) process.stderr.write(`ecron agent: warning: ${warning}\n`);
      const { Agent } = await import('../../agent/agent.ts');
      const agent = new Agent({
        config,
        baseEnv: process.env,
        version: `ecron-agent/${VERSION}`,
        // The SDK's warnings and errors (registration, heartbeats, reports); the start line says the rest.
        log: (level, message, fields) => {
          if (level === 'debug' || level === 'info') return;
          process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, service: 'ecron-agent', message, ...fields })}\n`);
        },
      });
      // Whatever ends the process, the commands do not outlive it (they are not in its group).
      const killOnExit = (): void => void agent.killProcessGroups('SIGKILL');
      process.on('exit', killOnExit);
      await agent.start();
      process.stderr.write(`ecron agent ${VERSION}: ${agent.describe()}\n`);
      if (config.allowlist.size === 0) process.stderr.write('ecron agent: the allowlist is empty: every command will be refused\n');
      if (config.containers.engines.length > 0 && config.containers.images.length === 0) {
        process.stderr.write('ecron agent: containers.images is empty: every container will be refused\n');
      }
      await new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals): void => {
          signals += 1;
          if (signals > 1) {
            const killed = agent.killProcessGroups('SIGKILL');
            process.stderr.write(`ecron agent: ${signal} again, exiting now (${killed} running ${killed === 1 ? 'command' : 'commands'} killed)\n`);
            process.exit(1);
          }
          process.stderr.write(`ecron agent: ${signal} received, stopping (runs in flight get ${agent.executor.options.shutdownGraceMs} ms)\n`);
          agent.stop().then(() => {
            process.stderr.write('ecron agent: stopped\n');
            resolve();
          }, (error: unknown) => {
            process.stderr.write(`ecron agent: shutdown failed: ${(error as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      process.off('exit', killOnExit);
    });
}
