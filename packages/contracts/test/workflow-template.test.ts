import { describe, expect, it } from 'vitest';
import { checkTemplates, parseTemplateRefs, renderTemplates, type TemplateScope } from '../src/index.ts';

const scope: TemplateScope = {
  params: { region: 'eu', count: 3, list: ['x', 'y'], nested: { deep: { flag: true } }, 'odd key': 'odd', nothing: null },
  nodes: {
    extract: { output: { files: ['a.csv', 'b.csv'], total: 2, meta: { by: 'etl' } }, status: 'succeeded' },
    skipped: { output: null, status: 'skipped' },
  },
  workflow: { runId: 'run-1', scheduledAt: '2026-01-01T00:00:00.000Z', name: 'nightly' },
};

describe('workflow templates: parsing', () => {
  it('finds every reference with the JSON path of its string, in document order', () => {
    expect(parseTemplateRefs({
      a: '{{params.region}}',
      b: ['plain', { c: 'from {{ nodes.extract.output.files[0] }} and {{  nodes.skipped.status  }}' }],
      d: '{{ workflow.runId }}',
      '{{ params.key }}': 'keys are not templated',
    })).toEqual([
      { path: ['a'], expr: 'params.region', root: 'params' },
      { path: ['b', 1, 'c'], expr: 'nodes.extract.output.files[0]', root: 'nodes', nodeId: 'extract' },
      { path: ['b', 1, 'c'], expr: 'nodes.skipped.status', root: 'nodes', nodeId: 'skipped' },
      { path: ['d'], expr: 'workflow.runId', root: 'workflow' },
    ]);
    expect(parseTemplateRefs('{{ params }}')).toEqual([{ path: [], expr: 'params', root: 'params' }]);
    expect(parseTemplateRefs(`{{ params["a \\" }} b"]['c\\'d'][12].e-f._g }}`)).toEqual([{ path: [], expr: `params["a \\" }} b"]['c\\'d'][12].e-f._g`, root: 'params' }]);
    expect(parseTemplateRefs({ n: 5, b: true, z: null, s: 'no template }}' })).toEqual([]);
  });

  it.each([
    '{{ }}',
    '{{ params.a + 1 }}',
    "{{ constructor.constructor('x')() }}",
    '{{ params.constructor.constructor("return process")() }}',
    '{{ this.x }}',
    '{{ process.env.SECRET }}',
    '{{ params.a | upper }}',
    '{{ params.a.b() }}',
    '{{ params.a',
    'text {{ params["a }}',
    '{{ params[01] }}',
    '{{ params[-1] }}',
    '{{ params.1a }}',
    '{{ params. a }}',
    '{{ "literal" }}',
    '{{ nodes.extract }}',
    '{{ nodes.extract.result }}',
    '{{ nodes["extract"].output }}',
    '{{ nodes.extract.status.length }}',
    '{{ workflow.id }}',
    '{{ workflow.runId.x }}',
    '{{ workflow }}',
    '{{ params["\\x"] }}',
    '{{ {{ params.a }}',
  ])('refuses %j with TEMPLATE_INVALID', (text) => {
    const issues = checkTemplates({ p: { q: [text] } });
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toEqual({ path: ['p', 'q', 0], code: 'TEMPLATE_INVALID', message: expect.any(String) });
  });

  it('reports each malformed template of a string and still finds the good ones', () => {
    const value = { s: '{{ bad! }} {{ params.a }} {{ nodes.x }} {{ params.b }} {{ open' };
    expect(checkTemplates(value).map((i) => i.message)).toEqual([
      expect.stringContaining('unexpected "!"'),
      expect.stringContaining('nodes.<id>.output'),
      expect.stringContaining('unclosed template'),
    ]);
    expect(parseTemplateRefs(value).map((r) => r.expr)).toEqual(['params.a', 'params.b']);
    expect(checkTemplates({ ok: '{{ params.a }} and }} and { {' })).toEqual([]);
  });

  it('never throws on odd input', () => {
    const cyclic: Record<string, unknown> = { s: '{{ params.a }}' };
    cyclic.self = cyclic;
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const getter = Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new Error('boom'); } });
    for (const value of [undefined, null, 1n, Symbol('s'), () => 1, cyclic, proxy, getter, new Date(), new Map([['k', '{{ x']])]) {
      expect(() => parseTemplateRefs(value)).not.toThrow();
      expect(() => checkTemplates(value)).not.toThrow();
      expect(() => renderTemplates(value, scope)).not.toThrow();
    }
    expect(parseTemplateRefs(cyclic)).toEqual([{ path: ['s'], expr: 'params.a', root: 'params' }]);
  });

  it('walks deeply nested values without recursion', () => {
    let value: unknown = '{{ params.region }}';
    for (let i = 0; i < 50_000; i++) value = [value];
    expect(parseTemplateRefs(value)[0]!.path).toHaveLength(50_000);
    let rendered = renderTemplates(value, scope);
    for (let i = 0; i < 50_000; i++) rendered = (rendered as unknown[])[0];
    expect(rendered).toBe('eu');
  });
});

describe('workflow templates: rendering', () => {
  it('keeps the type of a value referenced by a whole string', () => {
    expect(renderTemplates({
      count: '{{ params.count }}', list: ' {{ params.list }} ', flag: '{{params.nested.deep.flag}}', none: '{{ params.nothing }}',
      out: '{{ nodes.extract.output }}', file: '{{ nodes.extract.output.files[1] }}', status: '{{ nodes.skipped.status }}',
      odd: '{{ params["odd key"] }}', quoted: "{{ params['odd key'] }}", all: '{{ params }}', name: '{{ workflow.name }}',
    }, scope)).toEqual({
      count: 3, list: ['x', 'y'], flag: true, none: null, out: scope.nodes.extract!.output, file: 'b.csv', status: 'skipped',
      odd: 'odd', quoted: 'odd', all: scope.params, name: 'nightly',
    });
  });

  it('interpolates templates inside a longer string: strings as is, other values as JSON', () => {
    expect(renderTemplates('run {{ workflow.runId }} of {{workflow.name}} at {{ workflow.scheduledAt }}', scope))
      .toBe('run run-1 of nightly at 2026-01-01T00:00:00.000Z');
    expect(renderTemplates('n={{ params.count }} l={{ params.list }} m={{ nodes.extract.output.meta }} z={{ params.nothing }} t={{ params.nested.deep.flag }}', scope))
      .toBe('n=3 l=["x","y"] m={"by":"etl"} z=null t=true');
    expect(renderTemplates('{{ params.region }}{{ params.region }}', scope)).toBe('eueu');
  });

  it('gives null for a path that does not resolve, "" inside a longer string', () => {
    const missing = ['params.nope', 'params.region.x', 'params.list[2]', 'params.list.x', 'nodes.ghost.output', 'nodes.ghost.status',
      'nodes.skipped.output.x', 'params.count[0]', 'params.region[0]'];
    for (const expr of missing) {
      expect(renderTemplates(`{{ ${expr} }}`, scope), expr).toBeNull();
      expect(renderTemplates(`<{{ ${expr} }}>`, scope), expr).toBe('<>');
    }
    expect(renderTemplates({ a: '{{ params.x }}' }, { params: {}, nodes: {}, workflow: undefined } as unknown as TemplateScope)).toEqual({ a: null });
    expect(renderTemplates('{{ workflow.name }}', null as unknown as TemplateScope)).toBeNull();
  });

  it('never reads inherited properties', () => {
    for (const expr of ['params.__proto__', 'params.constructor', 'params.toString', 'params.hasOwnProperty', 'params.list.length',
      'params.list.constructor', 'params["__proto__"]', 'nodes.constructor.output', 'nodes.__proto__.status', 'nodes.toString.output',
      'params.region.length', 'params.constructor.prototype', 'nodes.extract.output.__proto__.constructor']) {
      expect(renderTemplates(`{{ ${expr} }}`, scope), expr).toBeNull();
      expect(renderTemplates(`x{{ ${expr} }}`, scope), expr).toBe('x');
    }
    const own = JSON.parse('{"__proto__": {"polluted": true}, "constructor": "mine"}') as Record<string, unknown>;
    expect(renderTemplates('{{ params.constructor }}', { ...scope, params: own })).toBe('mine');
    expect(renderTemplates('{{ params.__proto__.polluted }}', { ...scope, params: own })).toBe(true);
    const getter = Object.defineProperty({}, 'secret', { enumerable: true, get: () => 'leaked' });
    expect(renderTemplates('{{ params.secret }}', { ...scope, params: getter })).toBeNull();
  });

  it('renders nested params into a copy, keeping object keys, other values and malformed text as they are', () => {
    const date = new Date(0);
    const input = {
      '{{ params.region }}': 'key kept',
      deep: { list: [1, '{{ params.count }}', { s: 'to {{ params.region }}' }, [date]] },
      bad: '{{ params.region + 1 }} and {{ params.region }}',
      n: 1, b: false, z: null,
    };
    const copy = structuredClone(input);
    const out = renderTemplates(input, scope) as typeof input;
    expect(out).toEqual({
      '{{ params.region }}': 'key kept',
      deep: { list: [1, 3, { s: 'to eu' }, [date]] },
      bad: '{{ params.region + 1 }} and eu',
      n: 1, b: false, z: null,
    });
    expect(Object.keys(out)).toEqual(Object.keys(input));
    expect(out.deep.list[3]![0 as never]).toBe(date);
    expect(input).toEqual(copy);
  });

  it('evaluates nothing and does not render a rendered value again', () => {
    const evil = "{{ constructor.constructor('return process')() }}";
    expect(renderTemplates(evil, scope)).toBe(evil);
    expect(renderTemplates({ a: '{{ params.inner }}', b: 'x {{ params.inner }}' }, { ...scope, params: { inner: '{{ workflow.runId }}' } }))
      .toEqual({ a: '{{ workflow.runId }}', b: 'x {{ workflow.runId }}' });
  });

  it('keeps an own "__proto__" key as data, without touching prototypes', () => {
    const input = JSON.parse('{"__proto__": {"x": "{{ params.region }}"}}') as object;
    const out = renderTemplates(input, scope) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ x: 'eu' });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('interpolates values JSON cannot write as ""', () => {
    const odd = { params: { big: 1n, fn: () => 1, undef: undefined } } as unknown as TemplateScope;
    expect(renderTemplates('a{{ params.big }}b{{ params.fn }}c{{ params.undef }}d', { ...scope, ...odd })).toBe('abcd');
    expect(renderTemplates('{{ params.undef }}', { ...scope, ...odd })).toBeNull();
  });
});
