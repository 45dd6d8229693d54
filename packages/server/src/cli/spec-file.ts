import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { CliError } from './cli-error.ts';
import type { CliIo } from './context.ts';

type Format = 'json' | 'yaml';

function invalid(name: string, reason: string, cause?: unknown): CliError {
  return new CliError('SPEC_FILE_INVALID', `spec file ${name}: ${reason}`, { cause });
}

/** JSON for `.json`, YAML for `.yaml`/`.yml`; otherwise JSON when the text starts with `{` or `[`. */
function detectFormat(file: string, text: string): Format {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

async function parseText(name: string, text: string, format: Format): Promise<unknown> {
  if (format === 'json') {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw invalid(name, `not valid JSON: ${(error as Error).message}`, error);
    }
  }
  const { parse: parseYaml } = await import('yaml'); // loaded only for YAML: it slows the start of every command
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    // The first line names the problem and its line and column; the rest is a code frame.
    const first = ((error as Error).message.split('\n')[0] ?? '').replace(/:\s*$/, '');
    throw invalid(name, `not valid YAML: ${first}`, error);
  }
}

/**
 * The task spec in a file given to `-f` (JSON or YAML; `-` is standard input). A task as
 * `task get --json` prints it is accepted too: its `spec` is used. Throws SPEC_FILE_INVALID
 * naming the file when it cannot be read or parsed, or does not hold an object.
 */
export async function loadSpecFile(file: string, io: Pick<CliIo, 'cwd' | 'readStdin'>): Promise<Record<string, unknown>> {
  const fromStdin = file === '-';
  const name = fromStdin ? '(stdin)' : file;
  let text: string;
  try {
    text = fromStdin ? await io.readStdin() : await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? 'no such file'
      : code === 'EISDIR' ? 'is a directory'
        : code === 'EACCES' ? 'permission denied'
          : `cannot be read: ${(error as Error).message}`;
    throw invalid(name, reason, error);
  }
  if (text.trim() === '') throw invalid(name, 'is empty');
  const value = await parseText(name, text.replace(/^\uFEFF/, ''), detectFormat(fromStdin ? '' : file, text));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, `must hold one task spec object, not ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}`);
  }
  const record = value as Record<string, unknown>;
  if (typeof record.id === 'string' && typeof record.revision === 'number' && typeof record.spec === 'object' && record.spec !== null && !Array.isArray(record.spec)) {
    return record.spec as Record<string, unknown>;
  }
  return record;
}
