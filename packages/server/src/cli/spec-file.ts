import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
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

/** The text of a spec file (`-` is standard input), or SPEC_FILE_INVALID naming it. */
async function readSpecText(file: string, io: Pick<CliIo, 'cwd' | 'readStdin'>): Promise<{ name: string; text: string; fromStdin: boolean }> {
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
  return { name, text, fromStdin };
}

/**
 * The task spec in a file given to `-f` (JSON or YAML; `-` is standard input). A task as
 * `task get --json` prints it is accepted too: its `spec` is used. Throws SPEC_FILE_INVALID
 * naming the file when it cannot be read or parsed, or does not hold an object.
 */
export async function loadSpecFile(file: string, io: Pick<CliIo, 'cwd' | 'readStdin'>): Promise<Record<string, unknown>> {
  const { name, text, fromStdin } = await readSpecText(file, io);
  if (text.trim() === '') throw invalid(name, 'is empty');
  const value = await parseText(name, text.replace(/^\uFEFF/, ''), detectFormat(fromStdin ? '' : file, text));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, `must hold one task spec object, not ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}`);
  }
  return specOfDocument(value as Record<string, unknown>);
}

/**
 * The one object in a file given to `-f` (JSON or YAML; `-` is standard input), for resources other
 * than tasks: `what` names it in messages ("alert rule"). Throws SPEC_FILE_INVALID naming the file.
 */
export async function loadObjectFile(file: string, io: Pick<CliIo, 'cwd' | 'readStdin'>, what: string): Promise<Record<string, unknown>> {
  const { name, text, fromStdin } = await readSpecText(file, io);
  if (text.trim() === '') throw invalid(name, 'is empty');
  const value = await parseText(name, text.replace(/^\uFEFF/, ''), detectFormat(fromStdin ? '' : file, text));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, `must hold one ${what} object, not ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** A spec as written, or the `spec` of a task as `task get --json` prints it. */
function specOfDocument(record: Record<string, unknown>): Record<string, unknown> {
  if (typeof record.id === 'string' && typeof record.revision === 'number' && typeof record.spec === 'object' && record.spec !== null && !Array.isArray(record.spec)) {
    return record.spec as Record<string, unknown>;
  }
  return record;
}

/** One task spec of `task apply`, with where it came from (`file`, or `file#2` for the second document). */
export interface SpecDocument {
  source: string;
  spec: Record<string, unknown>;
}

const SPEC_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The specs of one file: every document of a YAML stream, or a JSON object or array of objects. Empty documents are skipped. */
async function documentsOf(file: string, io: Pick<CliIo, 'cwd' | 'readStdin'>): Promise<SpecDocument[]> {
  const { name, text, fromStdin } = await readSpecText(file, io);
  const body = text.replace(/^\uFEFF/, '');
  let values: unknown[];
  if (detectFormat(fromStdin ? '' : file, body) === 'json') {
    const value = await parseText(name, body, 'json');
    values = Array.isArray(value) ? value : [value];
  } else {
    const { parseAllDocuments } = await import('yaml');
    values = parseAllDocuments(body, { prettyErrors: true, uniqueKeys: true }).flatMap((doc) => {
      if ('errors' in doc && doc.errors.length > 0) {
        throw invalid(name, `not valid YAML: ${(doc.errors[0]!.message.split('\n')[0] ?? '').replace(/:\s*$/, '')}`, doc.errors[0]);
      }
      return [doc.toJS() as unknown];
    });
  }
  const documents: SpecDocument[] = [];
  values.forEach((value, i) => {
    if (value === null || value === undefined) return;
    const source = values.length > 1 ? `${name}#${i + 1}` : name;
    if (typeof value !== 'object' || Array.isArray(value)) throw invalid(source, `must hold task spec objects, not ${Array.isArray(value) ? 'a list' : typeof value}`);
    documents.push({ source, spec: specOfDocument(value as Record<string, unknown>) });
  });
  return documents;
}

/**
 * The task specs of `task apply -f PATH`: a file (JSON, or YAML with any number of `---` documents;
 * `-` is standard input) or a directory, whose `*.yaml`, `*.yml` and `*.json` files are read in name
 * order (not its subdirectories). Throws SPEC_FILE_INVALID naming the file, or when there is no spec.
 */
export async function loadSpecDocuments(path: string, io: Pick<CliIo, 'cwd' | 'readStdin'>): Promise<SpecDocument[]> {
  let files = [path];
  if (path !== '-') {
    const full = resolve(io.cwd, path);
    const info = await stat(full).catch(() => null);
    if (info?.isDirectory()) {
      const entries = await readdir(full, { withFileTypes: true });
      files = entries.filter((e) => e.isFile() && SPEC_EXTENSIONS.has(extname(e.name).toLowerCase())).map((e) => join(path, e.name)).sort();
      if (files.length === 0) throw invalid(path, 'the directory holds no .yaml, .yml or .json file');
    }
  }
  const documents: SpecDocument[] = [];
  for (const file of files) documents.push(...await documentsOf(file, io));
  if (documents.length === 0) throw invalid(path, 'holds no task spec');
  return documents;
}
