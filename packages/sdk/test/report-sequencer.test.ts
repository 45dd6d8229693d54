/** The report channels shared by the reporters of one callback: which ones outlive their reporters. */
import { describe, expect, it } from 'vitest';
import { ReportSequencer } from '../src/reports.ts';

const URL = 'http://127.0.0.1:7070/api/v1/runs/r1/report';

describe('ReportSequencer', () => {
  it('drops a channel that never handed out a seq at its last release (most runs report nothing)', () => {
    const sequencer = new ReportSequencer();
    const first = sequencer.acquire(URL, 'token-1');
    const second = sequencer.acquire(URL, 'token-1');
    expect(second).toBe(first);
    sequencer.release(first);
    expect(sequencer.size).toBe(1);
    sequencer.release(second);
    expect(sequencer.size).toBe(0);
    const again = sequencer.acquire(URL, 'token-1');
    expect(again).not.toBe(first);
    expect(again.next).toBe(0);
  });

  it('keeps a channel that sent a report: a later reporter of the same callback continues its seq', async () => {
    const sequencer = new ReportSequencer();
    const channel = sequencer.acquire(URL, 'token-2');
    expect(await channel.exclusive(async (takeSeq) => takeSeq())).toBe(0);
    sequencer.release(channel);
    expect(sequencer.size).toBe(1);
    const later = sequencer.acquire(URL, 'token-2');
    expect(later).toBe(channel);
    expect(await later.exclusive(async (takeSeq) => takeSeq())).toBe(1);
  });

  it('keeps a channel released while a report is still queued on it', async () => {
    const sequencer = new ReportSequencer();
    const channel = sequencer.acquire(URL, 'token-3');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const blocker = channel.exclusive(async () => { await gate; });
    const queued = channel.exclusive(async (takeSeq) => takeSeq());
    sequencer.release(channel);
    expect(sequencer.size).toBe(1);
    release();
    await blocker;
    expect(await queued).toBe(0);
    expect(sequencer.acquire(URL, 'token-3')).toBe(channel);
  });
});
