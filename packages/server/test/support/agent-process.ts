/** A real `ecron agent` process for the tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { ECRON, NODE } from './server-process.ts';

/** A real `ecron agent` process; resolves once it printed its start line. */
export async function startAgent(configFile: string, token: string, args: string[] = []): Promise<{ child: ChildProcess; line: string; stderr: () => string }> {
  const child = spawn(NODE, [ECRON, 'agent', '--config', configFile, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ECRON_TOKEN: token } });
  let stderr = '';
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start: ${stderr}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /^ecron agent \S+: .*$/m.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`agent exited with ${code}: ${stderr}`)); });
  });
  return { child, line, stderr: () => stderr };
}

/** Stops an agent started by {@link startAgent} with SIGTERM, if it still runs, and waits for it to exit. */
export async function stopAgent(agent: { child: ChildProcess } | undefined): Promise<void> {
  if (agent?.child.exitCode !== null || agent.child.signalCode !== null) return;
  const exited = new Promise((resolve) => agent.child.once('exit', resolve));
  agent.child.kill('SIGTERM');
  await exited;
}
