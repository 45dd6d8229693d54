/**
 * Signals to, and liveness of, a process group: the unit a run's command and everything it
 * started are stopped as.
 *
 * A group whose members have all exited may still hold zombies: processes reparented to a PID 1
 * that never reaps them (an agent in a container without an init). `kill(-pgid, 0)` counts them,
 * so on Linux liveness is read from /proc instead, where a zombie's state is `Z`.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Sends `signal` to the process group `pgid`; false when the group no longer exists. */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    // EPERM: some member changed its credentials (setuid); the others were signalled.
    if (code === 'EPERM') return true;
    throw error;
  }
}

/** The state letter and process group of /proc/<pid>/stat, or undefined if it is gone. */
function readStat(pid: string): { state: string; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited since the directory was listed
  }
  // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
}

/** True while some process of group `pgid` is alive (not a zombie). */
export function processGroupAlive(pgid: number): boolean {
  if (!signalProcessGroup(pgid, 0)) return false;
  if (process.platform !== 'linux') return true;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no /proc to look into: trust kill(2)
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
}
