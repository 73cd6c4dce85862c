import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberOpt, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';

const NAME = 'web';

const usage = `segrad web: serve the teaching playground on localhost

usage: segrad web [options]

Serves dist/web (built by 'npm run build:web'; built now if it is missing and the sources are there): a
static page that trains a small U-Net live in the browser, plots ALL and its derivative, runs gradchecks,
races losses and exports weights (safetensors) and curves (CSV). Also serves the package's src/ as
plain text so the page's links to each op's source open. Stops with Ctrl+C.

options:
  --port N      port to listen on (default 8080; 0 picks a free one)
  --host HOST   address to bind (default 127.0.0.1: this machine only)
  --dir DIR     serve this folder instead of the package's dist/web
  --no-open     do not open the page in the default browser

example:
  segrad web --port 8090 --no-open`;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

/** The folder holding segrad's package.json, found upwards from this file (sources or bundle). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'segrad') return dir;
      } catch {
        // not ours: keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`could not find segrad's package.json above ${from}`);
    dir = up;
  }
}

/** `child` when it lies inside `folder`, else null (no `..` escapes). */
function inside(folder: string, child: string): string | null {
  const full = normalize(join(folder, child));
  return full === folder || full.startsWith(folder.endsWith(sep) ? folder : folder + sep) ? full : null;
}

export interface WebServerOptions {
  /** The static folder (index.html at its root). */
  dir: string;
  port?: number;
  host?: string;
  /** A folder served under /src/ (the page links each op to its source there). */
  sources?: string;
}

/**
 * Serves `dir` read-only over HTTP (GET and HEAD); `/` is index.html and `/src/…` comes from `sources`.
 * Resolves once listening, with the URL and a `close()`.
 */
export async function startWebServer(opts: WebServerOptions): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const dir = resolve(opts.dir);
  const sources = opts.sources ? resolve(opts.sources) : undefined;
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = sources && path.startsWith('/src/') ? inside(sources, path.slice('/src/'.length)) : inside(dir, path === '/' ? 'index.html' : path);
    try {
      if (!file || !(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path}\n`);
    }
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(new Error(e.code === 'EADDRINUSE' ? `port ${opts.port} on ${host} is in use; choose another with --port (0 picks a free one)` : e.message)),
    );
    server.listen(opts.port ?? 8080, host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${port}/`, server, close: () => new Promise((r) => server.close(() => r())) };
}

/** dist/web of the package, built now when missing and the build script is there; throws saying how otherwise. */
export function ensureBuilt(root: string): string {
  const dir = join(root, 'dist', 'web');
  if (existsSync(join(dir, 'index.html'))) return dir;
  const script = join(root, 'scripts', 'build-web.mjs');
  if (!existsSync(script) || !existsSync(join(root, 'web', 'main.ts'))) {
    throw new Error(`the playground is not built (${dir} has no index.html) and its sources are not here; run 'npm run build:web' in a checkout of segrad`);
  }
  console.log(`building the playground into ${dir} …`);
  const r = spawnSync(process.execPath, [script], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(join(dir, 'index.html'))) {
    throw new Error(`building the playground failed (${script}); run 'npm run build:web' and read its errors`);
  }
  return dir;
}

function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => console.log(`(could not open a browser: open ${url} yourself)`));
    child.unref();
  } catch {
    console.log(`(could not open a browser: open ${url} yourself)`);
  }
}

export const web: Command = {
  name: NAME,
  summary: 'serve the teaching playground (train a U-Net live, explore ALL, gradchecks) on localhost',
  usage,
  async run(argv: string[]): Promise<number> {
    const { options, positional } = parseArgs(argv, { known: ['port', 'host', 'dir', 'no-open'], flags: ['no-open'] }, NAME);
    if (positional.length) throw new UsageError(`${NAME}: unexpected argument '${positional[0]}' (see 'segrad ${NAME} --help')`);
    const port = numberOpt(options, 'port', 8080, NAME);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${NAME}: --port must be an integer in [0, 65535], got ${port}`);
    const host = typeof options.host === 'string' ? options.host : '127.0.0.1';
    const root = packageRoot();
    let dir: string;
    if (typeof options.dir === 'string') {
      dir = resolve(options.dir);
      if (!existsSync(join(dir, 'index.html'))) throw new Error(`--dir ${dir} has no index.html`);
    } else dir = ensureBuilt(root);
    const sources = join(root, 'src');
    const { url, close } = await startWebServer({ dir, port, host, sources: existsSync(sources) ? sources : undefined });
    console.log(`segrad playground: ${url}  (serving ${dir}; Ctrl+C to stop)`);
    if (!options['no-open']) openBrowser(url);
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void close().then(done);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
