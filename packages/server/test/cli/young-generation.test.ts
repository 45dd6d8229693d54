/** `bin/ecron.js` runs a server with a smaller young generation unless the operator sized it. */
import { describe, expect, it } from 'vitest';
import { SEMI_SPACE_MIB, youngGenerationArgs } from '../../src/cli/young-generation.ts';

const argv = (...args: string[]) => ['/usr/bin/node', '/app/bin/ecron.js', ...args];

describe('youngGenerationArgs', () => {
  it('sizes the semi-spaces of `ecron start` only', () => {
    expect(youngGenerationArgs({ argv: argv('start', '--port', '7070'), execArgv: [], nodeOptions: undefined })).toEqual([`--max-semi-space-size=${SEMI_SPACE_MIB}`]);
    expect(youngGenerationArgs({ argv: argv('task', 'list'), execArgv: [], nodeOptions: undefined })).toEqual([]);
    expect(youngGenerationArgs({ argv: argv('agent'), execArgv: [], nodeOptions: undefined })).toEqual([]);
    expect(youngGenerationArgs({ argv: argv(), execArgv: [], nodeOptions: undefined })).toEqual([]);
  });

  it('leaves a size given on the node command line or in NODE_OPTIONS (so a process run again asks nothing more)', () => {
    expect(youngGenerationArgs({ argv: argv('start'), execArgv: ['--max-semi-space-size=16'], nodeOptions: undefined })).toEqual([]);
    expect(youngGenerationArgs({ argv: argv('start'), execArgv: ['--inspect'], nodeOptions: '--max_semi_space_size=64' })).toEqual([]);
    expect(youngGenerationArgs({ argv: argv('start'), execArgv: ['--max-semi-space-size', '8'], nodeOptions: '' })).toEqual([]);
    expect(youngGenerationArgs({ argv: argv('start'), execArgv: ['--max-old-space-size=512'], nodeOptions: '' })).toEqual([`--max-semi-space-size=${SEMI_SPACE_MIB}`]);
  });
});
