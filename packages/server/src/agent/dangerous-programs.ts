/**
 * Programs that must not get arguments chosen by the server: an allowlist entry ending in `*`
 * lets whoever can create a shell task in the group add any arguments, and these programs take
 * options that run commands, or delete or write files (`find … -exec`, `tar --to-command`,
 * `git -c core.sshCommand=…`, `sed -i`, `curl -o`). The agent refuses such an entry when it loads
 * its config unless the entry says `allowDangerous: true` (security finding F9, docs/executors.md).
 *
 * The list names programs by the last segment of argv[0] (`/usr/bin/find` is `find`), so a
 * renamed or wrapped copy is not recognised: it is a guard against the common mistake, not a
 * sandbox. The entries the server may complete are still the operator's choice.
 */
import type { AllowlistEntry } from './allowlist.ts';

/** Why a program is dangerous with arguments the server chooses. */
interface DangerousProgram {
  names: readonly (string | RegExp)[];
  reason: string;
  /**
   * An interpreter whose first argument, when it is not an option, is the script to run: every
   * argument after it goes to the script, never to the interpreter (`python3 /opt/report.py *`).
   */
  scriptFirst?: boolean;
}

const RUNS_COMMANDS = 'runs the command given in its arguments';

const PROGRAMS: readonly DangerousProgram[] = [
  { names: ['find', 'gfind'], reason: 'takes -exec, -execdir, -ok, -okdir (run commands), -delete, -fprint, -fprint0, -fprintf and -fls (delete or write files)' },
  { names: ['xargs'], reason: RUNS_COMMANDS },
  {
    names: ['env', 'sudo', 'doas', 'su', 'runuser', 'nice', 'nohup', 'timeout', 'setsid', 'stdbuf', 'ionice', 'chroot', 'flock', 'time', 'watch',
      'taskset', 'strace', 'busybox', 'ssh'],
    reason: RUNS_COMMANDS,
  },
  { names: ['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash'], reason: 'runs the shell code given with -c, or any script', scriptFirst: true },
  { names: ['fish', 'csh', 'tcsh'], reason: 'runs the shell code given with -c, or any script' },
  { names: [/^python[\d.]*$/, /^perl[\d.]*$/, /^ruby[\d.]*$/], reason: 'runs the code given with -c/-e, or any script', scriptFirst: true },
  { names: ['node', 'nodejs'], reason: 'runs the code given with -e/--eval, or any script', scriptFirst: true },
  { names: ['deno', 'bun', /^php[\d.]*$/, /^lua[\d.]*$/], reason: 'runs the code or any script given in its arguments' },
  { names: ['tar', 'gtar', 'bsdtar'], reason: 'takes --to-command, --checkpoint-action, -I/--use-compress-program (run commands) and writes or overwrites files' },
  { names: ['rsync'], reason: 'takes -e/--rsh (runs a command) and writes or deletes files' },
  { names: ['scp', 'sftp'], reason: 'takes -o ProxyCommand=… (runs a command) and writes files' },
  { names: ['git'], reason: 'takes -c (core.sshCommand, core.pager… run commands), --upload-pack, --exec and --output (write files)' },
  { names: ['curl', 'wget'], reason: 'takes -o/-O/--output (write files) and reads or writes config files that do more' },
  {
    names: ['cp', 'mv', 'rm', 'dd', 'tee', 'chmod', 'chown', 'chgrp', 'ln', 'install', 'truncate', 'shred', 'unlink'],
    reason: 'deletes, writes or changes the permissions of any file named in its arguments',
  },
  { names: ['sed', 'gsed'], reason: 'takes -i (edits files in place) and a script whose e, w and W commands run commands and write files' },
  { names: ['awk', 'gawk', 'mawk', 'nawk'], reason: 'runs the program given in its arguments, whose system() and "|" run commands and ">" writes files' },
  { names: ['make', 'gmake'], reason: 'takes -f and --eval (run any recipe)' },
];

/** The last segment of argv[0]: `/usr/bin/find` and `./find` are `find`. */
function programName(argv0: string): string {
  return argv0.slice(argv0.lastIndexOf('/') + 1);
}

function lookUp(name: string): DangerousProgram | undefined {
  return PROGRAMS.find((program) => program.names.some((n) => (typeof n === 'string' ? n === name : n.test(name))));
}

/**
 * Why `entry` lets the server reach a dangerous option, or undefined when it does not: an entry
 * without a final `*` allows one exact command, and an interpreter whose script is fixed before
 * the `*` passes the further arguments to that script.
 */
export function dangerousWildcard(entry: AllowlistEntry): string | undefined {
  if (!entry.anyArguments) return undefined;
  const name = programName(entry.argv[0]!);
  const program = lookUp(name);
  if (!program) return undefined;
  const first = entry.argv[1];
  const scriptFixed = program.scriptFirst === true && first !== undefined && !/^[-+]/.test(first) && !(name.startsWith('node') && first === 'inspect');
  if (scriptFixed) return undefined;
  return `the final "*" lets the server add any arguments to ${name}, which ${program.reason}`;
}
