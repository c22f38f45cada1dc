import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, runMamori } from '../helpers/cli.js';

/**
 * The CLI's start-up is mostly the code it parses (issue 12): the bundle is split into chunks
 * (scripts/build.mjs) and a command imports what it runs. This checks what a command really
 * loads: every module the child process resolves or requires is logged, and each bundled file
 * loaded is read for the sources esbuild put in it (its `// path` comments).
 */

/** The HTTP service's code, and the services' heavy parts a store-only command has no use for. */
const SERVER_CODE = [
  /^node_modules\/(fastify|@fastify\/|find-my-way|light-my-request|avvio|oidc-provider|koa|nodemailer|@simplewebauthn\/|prom-client|pino|@zxcvbn-ts\/)/,
  /^dist\/(http|web|oidc|mail|methods)\//,
  /^dist\/services\.js$/,
  /^dist\/cli\/serve\.js$/,
];

const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');

/** A preload that logs, to $MAMORI_TEST_LOADED, every ES module resolved and every CommonJS module required. */
const PRELOAD = `
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
register(new URL('./resolve-hook.mjs', import.meta.url));
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(process.env.MAMORI_TEST_LOADED, Object.keys(cache).map((f) => 'cjs ' + f + '\\n').join('')));
`;
const RESOLVE_HOOK = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith('file:')) appendFileSync(process.env.MAMORI_TEST_LOADED, 'esm ' + r.url + '\\n');
  return r;
}
`;

/** The project-relative sources a run parsed: the bundled inputs of the dist/ files it loaded, and the packages it loaded from node_modules. */
function sourcesLoaded(log: string): { files: string[]; sources: string[] } {
  const files = [
    ...new Set(
      log
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (l.startsWith('esm ') ? fileURLToPath(l.slice(4)) : l.slice(4)))
        .map((f) => path.relative(projectRoot, f)),
    ),
  ];
  const sources = new Set<string>();
  for (const f of files) {
    if (f.startsWith('node_modules/')) sources.add(f);
    else if (f.startsWith('dist/') && f.endsWith('.mjs')) for (const m of readFileSync(path.join(projectRoot, f), 'utf8').matchAll(/^\/\/ ((?:dist|node_modules)\/\S+)$/gm)) sources.add(m[1]!);
  }
  return { files, sources: [...sources] };
}

describe('what a CLI command loads (the split bundle)', () => {
  let dir: string;
  let dataDir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mamori-cold-start-'));
    dataDir = path.join(dir, 'data');
    writeFileSync(path.join(dir, 'preload.mjs'), PRELOAD);
    writeFileSync(path.join(dir, 'resolve-hook.mjs'), RESOLVE_HOOK);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function loadedBy(args: string[]) {
    const log = path.join(dir, `${args.join('-')}.log`);
    const r = await runMamori(args, {
      MAMORI_DATA_DIR: dataDir,
      MAMORI_MASTER_KEY: MASTER_KEY,
      MAMORI_LOG_LEVEL: 'silent',
      MAMORI_TEST_LOADED: log,
      NODE_OPTIONS: `--import=${path.join(dir, 'preload.mjs')}`,
    });
    expect(r.status, r.stderr).toBe(0);
    return { ...sourcesLoaded(readFileSync(log, 'utf8')), stdout: r.stdout };
  }

  it('`user list` parses neither the HTTP service nor the services (mailer, factors, metrics)', async () => {
    const { files, sources, stdout } = await loadedBy(['user', 'list']);
    expect(stdout).toBe('');
    // The check sees the bundle's contents: the command's own code is there.
    expect(files).toContain('dist/mamori.mjs');
    expect(sources).toEqual(expect.arrayContaining(['dist/cli/main.js', 'dist/cli/admin.js', 'dist/store/users.js', 'node_modules/commander/lib/command.js']));
    expect(sources.filter((s) => SERVER_CODE.some((re) => re.test(s)))).toEqual([]);
    // On SQLite the PostgreSQL driver (whose start-up loads Node's fetch) is not loaded at all.
    expect([...files, ...sources].filter((s) => /(^|\/)node_modules\/pg(-[a-z]+)?\//.test(s))).toEqual([]);
  });

  it('a command that needs the services loads them, still without the HTTP service', async () => {
    const { sources, stdout } = await loadedBy(['audit', 'verify']);
    expect(stdout).toMatch(/^audit chain valid/);
    expect(sources).toContain('dist/services.js');
    expect(sources.filter((s) => /fastify|oidc-provider|^dist\/(http|web|oidc)\/|^dist\/cli\/serve\.js$/.test(s))).toEqual([]);
  });

  it('the HTTP service is in the bundle, in chunks of its own', () => {
    // Else the checks above could pass by looking for names the bundle never has.
    const chunks = readFileSync(path.join(projectRoot, 'dist/chunks/.written'), 'utf8').split('\n').filter(Boolean);
    const holding = (source: string) => chunks.filter((c) => existsSync(path.join(projectRoot, 'dist/chunks', c)) && readFileSync(path.join(projectRoot, 'dist/chunks', c), 'utf8').includes(`\n// ${source}\n`));
    expect(holding('node_modules/fastify/fastify.js')).toHaveLength(1);
    expect(holding('dist/cli/serve.js')).toHaveLength(1);
  });
});
