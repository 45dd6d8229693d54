/** `ecron start` limits V8's heap growth unless the operator set the flag through node itself. */
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../src/cli/heap-growth.ts';

describe('limitHeapGrowth', () => {
  it('sets the growing percent when neither the command line nor NODE_OPTIONS does', () => {
    expect(limitHeapGrowth({ execArgv: ['--enable-source-maps'], nodeOptions: '--max-semi-space-size=16' })).toBe(HEAP_GROWING_PERCENT);
    expect(limitHeapGrowth({ execArgv: [], nodeOptions: undefined })).toBe(HEAP_GROWING_PERCENT);
  });

  it('leaves the flag as given on the node command line or in NODE_OPTIONS, in either spelling', () => {
    expect(limitHeapGrowth({ execArgv: ['--heap-growing-percent=100'], nodeOptions: undefined })).toBeNull();
    expect(limitHeapGrowth({ execArgv: [], nodeOptions: '--max-semi-space-size=16  --heap_growing_percent=20' })).toBeNull();
    expect(limitHeapGrowth({ execArgv: ['--heap-growing-percent'], nodeOptions: '' })).toBeNull();
    expect(limitHeapGrowth({ execArgv: ['--heap-growing-percentage=5'], nodeOptions: '' })).toBe(HEAP_GROWING_PERCENT);
  });
});
