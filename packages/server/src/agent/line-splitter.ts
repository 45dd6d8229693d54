/**
 * Splits a byte stream (a command's stdout or stderr) into lines, holding at most one capped line
 * in memory. node:readline would do the splitting, but it keeps a whole line in memory however long
 * it grows, so a command printing without newlines could exhaust the agent's memory; this keeps
 * the first `maxLineBytes` bytes of a line and counts the rest.
 *
 * Lines end at "\n"; a "\r" before it is dropped. A line cut at the cap ends with
 * " …[N bytes truncated]", and the whole stays within the cap. Bytes are decoded as UTF-8 once a
 * line is complete, and a cut never splits a character.
 */

/** Longest line kept, in bytes of UTF-8 (the callback report caps a log message at 16 KiB too). */
export const MAX_LINE_BYTES = 16 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Room kept at the end of a cut line for the " …[N bytes truncated]" note. */
const NOTE_ROOM = 48;

/** The length of `bytes` without a last UTF-8 character that is cut short. */
function completeCharacters(bytes: Buffer): number {
  let lead = bytes.length - 1;
  // Continuation bytes are 10xxxxxx: step back to the lead byte of the last character.
  while (lead > 0 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return 0;
  const first = bytes[lead]!;
  const size = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  return lead + size <= bytes.length ? bytes.length : lead;
}

export class LineSplitter {
  readonly #onLine: (line: string) => void;
  readonly #maxLineBytes: number;
  /** The kept part of the current line. */
  #parts: Buffer[] = [];
  #kept = 0;
  /** Bytes of the current line beyond the cap. */
  #dropped = 0;

  constructor(onLine: (line: string) => void, maxLineBytes = MAX_LINE_BYTES) {
    this.#onLine = onLine;
    this.#maxLineBytes = maxLineBytes;
  }

  /** Takes the next chunk of the stream; calls `onLine` for every line it completes. */
  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#keep(chunk.subarray(start, end));
      if (newline === -1) return;
      this.#emit(true);
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline is emitted. */
  end(): void {
    if (this.#kept > 0 || this.#dropped > 0) this.#emit(false);
  }

  #keep(bytes: Buffer): void {
    const room = this.#maxLineBytes - this.#kept;
    if (bytes.length <= room) {
      if (bytes.length > 0) this.#parts.push(bytes);
      this.#kept += bytes.length;
      return;
    }
    if (room > 0) {
      this.#parts.push(Buffer.from(bytes.subarray(0, room)));
      this.#kept += room;
    }
    this.#dropped += bytes.length - Math.max(room, 0);
  }

  #emit(terminated: boolean): void {
    let line = Buffer.concat(this.#parts, this.#kept);
    if (this.#dropped > 0) {
      // Make room for the note, so that the whole message stays within the cap, and never end
      // inside a character; what is cut here counts as dropped.
      const cut = completeCharacters(line.subarray(0, Math.max(0, this.#maxLineBytes - NOTE_ROOM)));
      this.#dropped += line.length - cut;
      line = line.subarray(0, cut);
    } else if (terminated && line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) {
      line = line.subarray(0, line.length - 1);
    }
    const text = line.toString('utf8');
    const dropped = this.#dropped;
    this.#parts = [];
    this.#kept = 0;
    this.#dropped = 0;
    this.#onLine(dropped > 0 ? `${text} …[${dropped} bytes truncated]` : text);
  }
}
