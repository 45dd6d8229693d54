/** Run parameters from the command line: `--params JSON` and `--param KEY=VALUE` (task trigger, run rerun). */
import { usageError } from './cli-error.ts';

export const PARAM_OPTION_HELP = 'a run parameter (repeatable); VALUE is sent as JSON when it parses as JSON, else as a string';

export const PARAM_HELP = `
A --param VALUE that parses as JSON is sent as that value, else as a string:
  --param steps=8            steps: 8 (a number)
  --param flag=true          flag: true (a boolean)
  --param 'x={"a":1}'        x: { "a": 1 } (an object)
  --param report=daily       report: "daily" (a string)
To send a string that would parse as JSON, quote it as JSON:
  --param 'id="8"'           id: "8" (a string)
`;

/**
 * The VALUE of `--param KEY=VALUE`: the JSON value when VALUE parses as JSON (`8`, `true`,
 * `{"a":1}`, `null`, `"8"`), else VALUE itself as a string (`daily`, `k=v`, the empty string).
 */
function paramValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * `--params '{"a":1}'` then `--param k=v` on top; `--param` alone goes on top of `base` when
 * given (a rerun edits the params of the run it repeats). Undefined when neither option is given.
 */
export function runParams(options: { param?: string[]; params?: string }, base?: Record<string, unknown>): Record<string, unknown> | undefined {
  let params: Record<string, unknown> | undefined = options.param?.length ? base : undefined;
  if (options.params !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(options.params);
    } catch (error) {
      throw usageError(`--params is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw usageError('--params must be a JSON object');
    params = { ...(parsed as Record<string, unknown>) };
  }
  for (const pair of options.param ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError(`--param "${pair}" must be KEY=VALUE`);
    params = { ...params, [pair.slice(0, eq)]: paramValue(pair.slice(eq + 1)) };
  }
  return params;
}

