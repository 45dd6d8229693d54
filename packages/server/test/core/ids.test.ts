import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { idFloor, newId } from '../../src/core/ids.ts';

describe('newId', () => {
  it('makes valid, distinct UUIDv7s that sort in creation order, many within one millisecond and across pool refills', () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    for (const id of ids.slice(0, 50)) {
      expect(validate(id)).toBe(true);
      expect(version(id)).toBe(7);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('carries the current millisecond', () => {
    const before = Date.now();
    const id = newId();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });
});

describe('idFloor', () => {
  it('is at or below every id made from its millisecond on, and above those made before', () => {
    const before = Date.now();
    const id = newId();
    expect(idFloor(before) <= id).toBe(true);
    expect(idFloor(Date.now() + 5) > id).toBe(true);
    expect(idFloor(before)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-0000-0000-000000000000$/);
  });
});
