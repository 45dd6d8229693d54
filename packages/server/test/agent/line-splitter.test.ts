import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/agent/line-splitter.ts';

function split(chunks: (string | Buffer)[], max?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), max);
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('splits on \\n across chunks, drops \\r before it, keeps empty lines and a last unterminated line', () => {
    expect(split(['a', 'b\nc', 'd\r\n\n', 'e\nlast'])).toEqual(['ab', 'cd', '', 'e', 'last']);
    expect(split(['x\n'])).toEqual(['x']);
    expect(split([])).toEqual([]);
  });

  it('decodes a UTF-8 character split between chunks', () => {
    const bytes = Buffer.from('héllo ✓\n');
    expect(split([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)])).toEqual(['héllo ✓']);
  });

  it('cuts a long line within the cap, never inside a character, and counts what was dropped', () => {
    const line = '✓'.repeat(100); // 300 bytes
    const [cut, next] = split([`${line}\nnext\n`], 100);
    expect(next).toBe('next');
    expect(Buffer.byteLength(cut!)).toBeLessThanOrEqual(100);
    const kept = /^(✓*) …\[(\d+) bytes truncated\]$/.exec(cut!);
    expect(kept).not.toBeNull();
    expect(Buffer.byteLength(kept![1]!) + Number(kept![2])).toBe(300);
  });

  it('holds no more than the cap of a line that never ends', () => {
    const lines = split(Array.from({ length: 64 }, () => Buffer.alloc(64 * 1024, 0x61)));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThanOrEqual(16 * 1024);
    expect(lines[0]).toMatch(/ …\[\d+ bytes truncated\]$/);
  });
});
