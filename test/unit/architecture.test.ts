import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layering of issue 8, checked on the source text rather than trusted to review: no import
 * cycles, SQL only in src/store, no `as unknown as`, and dependencies that point inward. Plain
 * regular expressions over the files, so the check needs no compiler and runs in milliseconds.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = path.join(root, 'src');

/** Files outside src/store/ that may hold Kysely queries: none. */
const QUERIES_ALLOWED: string[] = [];

/** Files that may cast through `unknown`: none. */
const CASTS_ALLOWED: string[] = [];

/** Which layers a layer must not import from, type-only imports included: a type is a dependency too. */
const FORBIDDEN: Array<{ from: string[]; to: string[] }> = [
  { from: ['src/store/', 'src/methods/', 'src/regulation/'], to: ['src/http/', 'src/cli/', 'src/web/', 'src/oidc/', 'src/forward-auth/'] },
  { from: ['src/flows/'], to: ['src/http/', 'src/cli/', 'src/oidc/'] },
  // The OpenID Connect adapter sits beside http/: it may use flows and stores, never routes.
  { from: ['src/oidc/'], to: ['src/http/routes/', 'src/cli/'] },
  // Forward-auth's rules, target and decision are pure: the route reads the session and asks them.
  { from: ['src/forward-auth/'], to: ['src/http/', 'src/cli/', 'src/web/', 'src/store/', 'src/oidc/'] },
];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return tsFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

const rel = (file: string) => path.relative(root, file).split(path.sep).join('/');

/** Block comments and whole-line comments go, so prose that quotes an import is not one. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/^\s*\/\/.*$/gm, '');
}

interface Import {
  specifier: string;
  /** `import type` / `export type`: erased at run time, so it cannot take part in a load-order cycle. */
  typeOnly: boolean;
}

/**
 * Static imports, re-exports, side-effect and dynamic imports. An import whose names are all
 * marked inline (`import { type A } from`) counts as a runtime one: under verbatimModuleSyntax
 * it is emitted as `import {} from`, which still loads the module.
 */
function importsOf(text: string): Import[] {
  const found: Import[] = [];
  const patterns: Array<{ re: RegExp; typeGroup?: number; specGroup: number }> = [
    { re: /\bimport\s+(type\s+)?[\w$\s{},*]+?\s+from\s+['"]([^'"]+)['"]/g, typeGroup: 1, specGroup: 2 },
    { re: /\bexport\s+(type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{[\w$\s,]*\})\s+from\s+['"]([^'"]+)['"]/g, typeGroup: 1, specGroup: 2 },
    { re: /\bimport\s+['"]([^'"]+)['"]/g, specGroup: 1 },
    { re: /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, specGroup: 1 },
  ];
  for (const { re, typeGroup, specGroup } of patterns) {
    for (const m of text.matchAll(re)) {
      found.push({ specifier: m[specGroup]!, typeOnly: typeGroup !== undefined && m[typeGroup] !== undefined });
    }
  }
  return found;
}

/** The src/ file a relative specifier names (`./x.js` is `./x.ts` on disk); undefined for packages and files outside src/. */
function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (candidate.startsWith(SRC + path.sep) && candidate.endsWith('.ts') && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const files = tsFiles(SRC).sort();
const sources = new Map(files.map((f) => [rel(f), code(readFileSync(f, 'utf8'))]));
const edges = new Map(
  files.map((f) => [
    rel(f),
    importsOf(sources.get(rel(f))!).flatMap((i) => {
      const target = resolve(f, i.specifier);
      return target ? [{ to: rel(target), typeOnly: i.typeOnly }] : [];
    }),
  ]),
);

/** Every elementary cycle would be too many to print; one cycle per strongly connected component names the knot. */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const f of graph.keys()) if (!idx.has(f)) visit(f);
  // Within each component, the shortest way from its first file back to itself (breadth-first).
  return components.map((component) => {
    const members = new Set(component);
    const start = [...component].sort()[0]!;
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!members.has(w)) continue;
        if (w === start) {
          const cycle = [v];
          while (cycle[0] !== start) cycle.unshift(previous.get(cycle[0]!)!);
          return [...cycle, start];
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  });
}

/** Lines matching `re`, as `file:line: text`, for the files `re` is not allowed in. */
function offenders(re: RegExp, allowed: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const [file, text] of sources) {
    if (allowed(file)) continue;
    text.split('\n').forEach((line, i) => {
      if (re.test(line)) out.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return out;
}

/** Kysely's query builders and its `sql` template tag (with or without a type argument). */
const QUERY = /\.(selectFrom|insertInto|replaceInto|updateTable|deleteFrom|mergeInto)\(|\bsql(<[^>]*>)?`/;

describe('architecture (issue 8)', () => {
  it('reads the source tree', () => {
    // A wrong root would make every check below pass vacuously.
    expect(sources.size).toBeGreaterThan(50);
    expect(sources.has('src/services.ts')).toBe(true);
    expect([...edges.values()].flat().length).toBeGreaterThan(100);
  });

  it('parses imports and finds cycles (the checks themselves, on planted input)', () => {
    const text = code(
      [
        "import type { A } from './a.js';",
        "import { type B } from './b.js';",
        'import {',
        '  C,',
        '  type D,',
        "} from './c.js';",
        "// import { E } from './commented.js';",
        "export { F } from './f.js';",
        "export type { G } from './g.js';",
        "import './side-effect.js';",
        "const h = await import('./h.js');",
      ].join('\n'),
    );
    expect(importsOf(text).sort((x, y) => x.specifier.localeCompare(y.specifier))).toEqual([
      { specifier: './a.js', typeOnly: true },
      { specifier: './b.js', typeOnly: false },
      { specifier: './c.js', typeOnly: false },
      { specifier: './f.js', typeOnly: false },
      { specifier: './g.js', typeOnly: true },
      { specifier: './h.js', typeOnly: false },
      { specifier: './side-effect.js', typeOnly: false },
    ]);
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(cyclesOf(graph)).toEqual(expect.arrayContaining([['a', 'b', 'c', 'a'], ['e', 'e']]));
    expect(cyclesOf(graph)).toHaveLength(2);
    expect(QUERY.test("db.selectFrom('users')") && QUERY.test('sql<number>`select 1`') && !QUERY.test('const sqlite = 1')).toBe(true);
  });

  it('has no runtime import cycle among src/ modules', () => {
    const runtime = new Map([...edges].map(([f, es]) => [f, [...new Set(es.filter((e) => !e.typeOnly).map((e) => e.to))]]));
    const cycles = cyclesOf(runtime).map((c) => c.join(' → '));
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('keeps Kysely queries in src/store/', () => {
    const found = offenders(QUERY, (f) => f.startsWith('src/store/') || QUERIES_ALLOWED.includes(f));
    expect(found, `queries outside src/store/:\n${found.join('\n')}`).toEqual([]);
  });

  it('has no `as unknown as` casts', () => {
    const found = offenders(/\bas\s+unknown\s+as\b/, (f) => CASTS_ALLOWED.includes(f));
    expect(found, `casts through unknown:\n${found.join('\n')}`).toEqual([]);
  });

  it('lets dependencies point inward only', () => {
    const found: string[] = [];
    for (const [file, es] of edges) {
      for (const rule of FORBIDDEN) {
        if (!rule.from.some((layer) => file.startsWith(layer))) continue;
        for (const e of es) if (rule.to.some((layer) => e.to.startsWith(layer))) found.push(`${file} → ${e.to}`);
      }
    }
    expect(found, `imports pointing outward:\n${found.join('\n')}`).toEqual([]);
  });

  it('lists every allowed file that exists', () => {
    // A renamed or deleted file must leave the allow-lists too, or the entry would excuse nothing silently.
    for (const f of [...QUERIES_ALLOWED, ...CASTS_ALLOWED]) expect(sources.has(f), f).toBe(true);
  });
});
