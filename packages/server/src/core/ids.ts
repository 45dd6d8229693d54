import { v7 } from 'uuid';

/** A new time-ordered identifier (UUIDv7): ids created later sort later. */
export function newId(): string {
  return v7();
}
