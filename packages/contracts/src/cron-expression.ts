import { Cron } from 'croner';

export type CronCheck = { ok: true; fields: 5 | 6 } | { ok: false; message: string };

/**
 * Checks a cron expression: 5 fields (minute-level) or 6 with leading seconds, in croner's syntax
 * (ranges, steps, names, `L`, `W`, `#`, `?`). Nicknames such as `@daily` are accepted too.
 */
export function checkCronExpression(expression: string): CronCheck {
  const trimmed = expression.trim();
  const fields = trimmed.split(/\s+/).length;
  if (!trimmed.startsWith('@') && fields !== 5 && fields !== 6) {
    return { ok: false, message: `cron needs 5 fields, or 6 with leading seconds; got ${fields}` };
  }
  let cron: Cron;
  try {
    cron = new Cron(trimmed, { paused: true, timezone: 'UTC' });
  } catch (error) {
    return { ok: false, message: `invalid cron ${JSON.stringify(expression)}: ${(error as Error).message}` };
  }
  // An expression such as "0 0 31 2 *" (February 31st) parses but can never fire.
  if (cron.nextRun() === null) return { ok: false, message: `cron ${JSON.stringify(expression)} never fires: no date matches it` };
  return { ok: true, fields: fields === 6 ? 6 : 5 };
}
