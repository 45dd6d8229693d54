/**
 * Templates in the params of a workflow node: a small, safe path syntax. Nothing is ever evaluated.
 *
 * Any string value inside params (at any depth of objects and arrays; object keys are never templated)
 * may contain `{{ expr }}`, with optional whitespace inside the braces. `expr` is a path:
 *
 *   params                      the workflow run's params         params.region, params.hosts[0]
 *   nodes.<nodeId>.output       the output of an upstream node    nodes.extract.output.files[2]["file name"]
 *   nodes.<nodeId>.status       its status (a string)             nodes.extract.status
 *   workflow.runId | workflow.scheduledAt | workflow.name
 *
 * followed (params and output only) by segments: `.ident`, `[0]` (an array index, no leading zero) or `["key"]` / `['key']`
 * (any key; JSON escapes inside double quotes, `\'` and `\\` inside single ones). Identifiers are
 * `[A-Za-z_][A-Za-z0-9_-]*`. There are no operators, literals, function calls or filters: anything else
 * between `{{` and `}}` (or a `{{` without `}}`) is malformed, reported by checkTemplates as TEMPLATE_INVALID
 * and left as text by renderTemplates. There is no escape: a params string cannot hold a literal `{{`.
 *
 * Rendering: a string that is exactly one template (whitespace around it allowed) becomes the referenced
 * value itself, its JSON type kept (object, array, number, boolean, null); otherwise each template is
 * replaced by the value's text (a string as is, anything else as JSON). A path that does not resolve gives
 * null, or "" inside a longer string. Only own data properties are read (`__proto__`, `constructor`,
 * `length` of an array… resolve to null), a `.ident` or `["key"]` segment only indexes an object and a
 * `[0]` segment an array (or the key "0" of an object). Rendered values are not rendered again, and a
 * referenced object is placed in the result as it is in the scope (not copied).
 *
 * Walks are iterative (any depth) and tolerate values that are not JSON (cycles, class instances, getters
 * that throw, revoked proxies): no function here throws.
 */

export type TemplateRoot = 'params' | 'nodes' | 'workflow';
export type JsonPath = (string | number)[];

export interface TemplateRef {
  /** JSON path, inside the templated value, of the string holding the template. */
  path: JsonPath;
  /** The expression between the braces, trimmed: "nodes.a.output.x". */
  expr: string;
  root: TemplateRoot;
  /** For a `nodes.*` reference, the node named. */
  nodeId?: string;
}

export interface TemplateIssue {
  path: JsonPath;
  code: 'TEMPLATE_INVALID';
  message: string;
}

export interface TemplateScope {
  params: Record<string, unknown>;
  nodes: Record<string, { output: unknown; status: string }>;
  workflow: { runId: string; scheduledAt: string; name: string };
}

interface ParsedRef {
  start: number; // index of "{{"
  end: number; // index after "}}"
  expr: string;
  root: TemplateRoot;
  nodeId?: string;
  /** output/status for nodes, runId/scheduledAt/name for workflow. */
  field?: string;
  segments: (string | number)[];
}

const INDEX = /(0|[1-9]\d{0,14})\]/y;
const DOUBLE_QUOTED = /"(?:[^"\\]|\\.)*"\]/y;
const SINGLE_QUOTED = /'(?:[^'\\]|\\.)*'\]/y;
const WORKFLOW_FIELDS = new Set(['runId', 'scheduledAt', 'name']);
const USAGE = 'use params…, nodes.<id>.output…, nodes.<id>.status or workflow.runId|scheduledAt|name';

const sticky = (pattern: RegExp, text: string, at: number): RegExpExecArray | null => {
  pattern.lastIndex = at;
  return pattern.exec(text);
};
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57) || c === 45;
const skipSpace = (text: string, at: number): number => {
  while (at < text.length && isSpace(text.charCodeAt(at))) at++;
  return at;
};
/** The end of the identifier starting at `at`, or `at` itself when there is none. */
const identEnd = (text: string, at: number): number => {
  if (!isIdentStart(text.charCodeAt(at))) return at;
  let end = at + 1;
  while (end < text.length && isIdentPart(text.charCodeAt(end))) end++;
  return end;
};
const excerpt = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);

/** Parses the template whose "{{" is at `open`; a string is the reason it is malformed. */
function parseAt(text: string, open: number): ParsedRef | string {
  const from = skipSpace(text, open + 2);
  let at = identEnd(text, from);
  if (at === from) return 'expected a path such as params.name';
  const root = text.slice(from, at);
  const segments: (string | number)[] = [];
  let identsFirst = 0; // how many leading segments are .ident
  for (;;) {
    const c = text.charCodeAt(at);
    let end: number;
    let m: RegExpExecArray | null;
    if (c === 46 && (end = identEnd(text, at + 1)) > at + 1) {
      if (identsFirst === segments.length) identsFirst++;
      segments.push(text.slice(at + 1, end));
      at = end;
    } else if (c === 91 && (m = sticky(INDEX, text, at + 1))) {
      segments.push(Number(m[1]));
      at += 1 + m[0].length;
    } else if (c === 91 && (m = sticky(DOUBLE_QUOTED, text, at + 1) ?? sticky(SINGLE_QUOTED, text, at + 1))) {
      const literal = m[0].slice(0, -1);
      let key: unknown;
      try {
        key = literal.startsWith('"') ? JSON.parse(literal) : literal.slice(1, -1).replace(/\\(.)/gs, '$1');
      } catch {
        return `invalid string key ${literal}`;
      }
      segments.push(key as string);
      at += 1 + m[0].length;
    } else {
      break;
    }
  }
  const exprEnd = at;
  at = skipSpace(text, at);
  if (text.charCodeAt(at) !== 125 || text.charCodeAt(at + 1) !== 125) {
    const next = text.slice(at, at + 1);
    return next ? `unexpected ${JSON.stringify(next)} after ${excerpt(text.slice(from, exprEnd))}: only a path is allowed` : 'missing "}}"';
  }
  const ref: ParsedRef = { start: open, end: at + 2, expr: text.slice(from, exprEnd), root: 'params', segments };
  if (root === 'params') return ref;
  if (root === 'nodes') {
    const field = segments[1];
    if (identsFirst < 2 || (field !== 'output' && field !== 'status')) return 'a node reference is nodes.<id>.output or nodes.<id>.status';
    if (field === 'status' && segments.length > 2) return 'nodes.<id>.status is a string: nothing can follow it';
    ref.root = 'nodes';
    ref.nodeId = segments[0] as string;
    ref.field = field;
    ref.segments = segments.slice(2);
    return ref;
  }
  if (root === 'workflow') {
    if (segments.length !== 1 || identsFirst !== 1 || !WORKFLOW_FIELDS.has(segments[0] as string)) {
      return 'a workflow reference is workflow.runId, workflow.scheduledAt or workflow.name';
    }
    ref.root = 'workflow';
    ref.field = segments[0] as string;
    ref.segments = [];
    return ref;
  }
  return `unknown root ${JSON.stringify(root)}: ${USAGE}`;
}

interface Scan {
  refs: ParsedRef[];
  errors: string[];
}

function scanString(text: string): Scan {
  const scan: Scan = { refs: [], errors: [] };
  for (let at = text.indexOf('{{'); at !== -1; at = text.indexOf('{{', at)) {
    const parsed = parseAt(text, at);
    if (typeof parsed !== 'string') {
      scan.refs.push(parsed);
      at = parsed.end;
      continue;
    }
    const close = text.indexOf('}}', at + 2);
    const shown = close === -1 ? text.slice(at) : text.slice(at, close + 2);
    scan.errors.push(close === -1 ? `unclosed template ${excerpt(shown)}: a template is {{ path }}` : `invalid template ${excerpt(shown)}: ${parsed}`);
    if (close === -1) break;
    at = close + 2;
  }
  return scan;
}

/** An own data property (never a getter, never inherited); undefined when absent or unreadable. */
function own(holder: unknown, key: string | number): unknown {
  if (typeof holder !== 'object' || holder === null) return undefined;
  try {
    if (Array.isArray(holder)) {
      if (typeof key !== 'number' || key >= holder.length) return undefined;
    }
    const descriptor = Object.getOwnPropertyDescriptor(holder, typeof key === 'number' ? String(key) : key);
    return descriptor && 'value' in descriptor ? descriptor.value : undefined;
  } catch {
    return undefined;
  }
}

function resolve(ref: ParsedRef, scope: unknown): unknown {
  let value: unknown;
  if (ref.root === 'params') value = own(scope, 'params');
  else if (ref.root === 'nodes') value = own(own(own(scope, 'nodes'), ref.nodeId!), ref.field!);
  else value = own(own(scope, 'workflow'), ref.field!);
  for (const segment of ref.segments) {
    if (value === undefined) return undefined;
    value = own(value, segment);
  }
  return value;
}

function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

function renderString(text: string, scope: unknown): unknown {
  if (!text.includes('{{')) return text;
  const { refs } = scanString(text);
  if (refs.length === 0) return text;
  const only = refs[0]!;
  if (refs.length === 1 && text.slice(0, only.start).trim() === '' && text.slice(only.end).trim() === '') {
    return resolve(only, scope) ?? null;
  }
  let out = '';
  let at = 0;
  for (const ref of refs) {
    out += text.slice(at, ref.start) + toText(resolve(ref, scope));
    at = ref.end;
  }
  return out + text.slice(at);
}

/** An array or plain object being walked: its own keys (null for an array) and the next one to visit. */
interface Cursor {
  value: Record<string, unknown> | unknown[];
  keys: string[] | null;
  length: number;
  next: number;
  /** The key of the entry step() returned last. */
  current: string | number;
  key?: string | number;
  parent?: Cursor;
  copy?: Record<string, unknown> | unknown[];
}

/** A cursor over an array or a plain object not seen before; null for anything else (or anything unreadable). */
function open(value: unknown, seen: Set<object>, key?: string | number, parent?: Cursor): Cursor | null {
  if (typeof value !== 'object' || value === null || seen.has(value)) return null;
  try {
    if (Array.isArray(value)) {
      seen.add(value);
      return { value, keys: null, length: value.length, next: 0, current: 0, key, parent };
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return null;
    const keys = Object.keys(value);
    seen.add(value);
    return { value: value as Record<string, unknown>, keys, length: keys.length, next: 0, current: 0, key, parent };
  } catch {
    return null;
  }
}

const END: unique symbol = Symbol('end');

/** The next value of a cursor (its key in cursor.current), or END. An unreadable entry reads as undefined. */
function step(cursor: Cursor): unknown {
  if (cursor.next >= cursor.length) return END;
  const i = cursor.next++;
  const key = cursor.keys ? cursor.keys[i]! : i;
  cursor.current = key;
  try {
    return (cursor.value as Record<string | number, unknown>)[key];
  } catch {
    return undefined;
  }
}

const pathOf = (cursor: Cursor | undefined, key: string | number | undefined): JsonPath => {
  const path: JsonPath = key === undefined ? [] : [key];
  for (let c = cursor; c?.key !== undefined; c = c.parent) path.push(c.key);
  return path.reverse();
};

/** Calls visit for each string containing "{{", in document order, without recursion. */
function eachTemplatedString(value: unknown, visit: (text: string, path: () => JsonPath) => void): void {
  if (typeof value === 'string') {
    if (value.includes('{{')) visit(value, () => []);
    return;
  }
  const seen = new Set<object>();
  const root = open(value, seen);
  const stack: Cursor[] = root ? [root] : [];
  while (stack.length > 0) {
    const cursor = stack[stack.length - 1]!;
    const child = step(cursor);
    if (child === END) {
      stack.pop();
      continue;
    }
    const key = cursor.current;
    if (typeof child === 'string') {
      if (child.includes('{{')) visit(child, () => pathOf(cursor, key));
    } else {
      const inner = open(child, seen, key, cursor);
      if (inner) stack.push(inner);
    }
  }
}

/** The well-formed template references and the malformed templates inside value, in one walk. Never throws. */
export function scanTemplates(value: unknown): { refs: TemplateRef[]; issues: TemplateIssue[] } {
  const refs: TemplateRef[] = [];
  const issues: TemplateIssue[] = [];
  eachTemplatedString(value, (text, pathTo) => {
    const scan = scanString(text);
    if (scan.refs.length === 0 && scan.errors.length === 0) return;
    const path = pathTo();
    for (const ref of scan.refs) {
      const found: TemplateRef = { path: [...path], expr: ref.expr, root: ref.root };
      if (ref.nodeId !== undefined) found.nodeId = ref.nodeId;
      refs.push(found);
    }
    for (const message of scan.errors) issues.push({ path: [...path], code: 'TEMPLATE_INVALID', message });
  });
  return { refs, issues };
}

/** Every well-formed template reference inside value, in document order. Never throws. */
export function parseTemplateRefs(value: unknown): TemplateRef[] {
  return scanTemplates(value).refs;
}

/** One issue per malformed template inside value (an unclosed "{{", anything but a path). Never throws. */
export function checkTemplates(value: unknown): TemplateIssue[] {
  return scanTemplates(value).issues;
}

function assign(target: Record<string, unknown> | unknown[], key: string | number, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else (target as Record<string | number, unknown>)[key] = value;
}

/**
 * A copy of value with every template rendered against scope (see the file header). Arrays and plain
 * objects are copied; other values are kept as they are. Never throws, whatever the value or scope.
 */
export function renderTemplates(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') return renderString(value, scope);
  const copies = new Map<object, Record<string, unknown> | unknown[]>();
  const seen = new Set<object>();
  const openCopy = (source: unknown, key?: string | number, parent?: Cursor): Cursor | null => {
    const cursor = open(source, seen, key, parent);
    if (cursor) {
      cursor.copy = cursor.keys ? {} : new Array<unknown>(cursor.length);
      copies.set(cursor.value, cursor.copy);
    }
    return cursor;
  };
  const root = openCopy(value);
  if (!root) return value;
  const stack: Cursor[] = [root];
  while (stack.length > 0) {
    const cursor = stack[stack.length - 1]!;
    const child = step(cursor);
    if (child === END) {
      stack.pop();
      continue;
    }
    const key = cursor.current;
    if (typeof child === 'string') {
      assign(cursor.copy!, key, renderString(child, scope));
      continue;
    }
    const inner = openCopy(child, key, cursor);
    if (inner) stack.push(inner);
    assign(cursor.copy!, key, inner ? inner.copy : typeof child === 'object' && child !== null ? (copies.get(child) ?? child) : child);
  }
  return root.copy;
}
