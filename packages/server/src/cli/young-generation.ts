/**
 * The size of V8's young generation in a server process (`ecron start`), which only the node
 * command line can set (`--max-semi-space-size`): `bin/ecron.js` asks {@link youngGenerationArgs}
 * before loading anything else, and when it answers flags, replaces the process with node run
 * again with them (`process.execve`: the same process id, arguments and environment).
 *
 * Node sizes the young generation from the machine's memory: on 16 GiB or more, two semi-spaces
 * of 64 MiB, all of it touched and resident once a scheduler node allocates at its rate (~80
 * MiB/s at 2,000 fires a second). 16 MiB semi-spaces hold what a fire allocates with room to spare
 * (a young collection every ~0.2 s at that rate, ~2 ms each) and take 96 MiB off the resident
 * size; measured on one node firing ~700 a second: RSS 304 → 218 MiB, the same CPU per fire
 * (docs/benchmarks.md, "Cluster on PostgreSQL").
 *
 * Nothing is changed when the size is given already (node command line or NODE_OPTIONS), when the
 * command is not `start`, or where `process.execve` does not exist (Windows).
 */

/** Semi-space size of a server process, in MiB (the young generation holds two). */
export const SEMI_SPACE_MIB = 16;

const FLAG = /^--max[-_]semi[-_]space[-_]size(=|$)/;

/** The node flags to run `argv` with (empty: run as is). */
export function youngGenerationArgs(p: { argv: readonly string[]; execArgv: readonly string[]; nodeOptions: string | undefined }): string[] {
  if (p.argv[2] !== 'start') return [];
  const given = [...p.execArgv, ...(p.nodeOptions ?? '').split(/\s+/)].some((arg) => FLAG.test(arg));
  return given ? [] : [`--max-semi-space-size=${SEMI_SPACE_MIB}`];
}
