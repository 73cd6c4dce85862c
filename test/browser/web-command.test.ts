import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { ensureBuilt, packageRoot, startWebServer, web } from '../../src/cli/commands/web.js';

/** `segrad web`: options, the missing-build message, the port-in-use message, and a served page. */
describe('segrad web', () => {
  afterEach(() => vi.restoreAllMocks());

  it('finds the package root from its own source file', () => {
    expect(packageRoot()).toBe(join(import.meta.dirname, '..', '..'));
  });

  it('rejects bad options with usage errors', async () => {
    await expect(web.run(['--port', 'x'])).rejects.toThrow(UsageError);
    await expect(web.run(['--port', '70000'])).rejects.toThrow(/--port must be an integer/);
    await expect(web.run(['extra'])).rejects.toThrow(/unexpected argument 'extra'/);
    await expect(web.run(['--open-wide'])).rejects.toThrow(/unknown option --open-wide/);
  });

  it('says to run npm run build:web when the page is not built and cannot be', () => {
    const root = mkdtempSync(join(tmpdir(), 'segrad-web-'));
    expect(() => ensureBuilt(root)).toThrow(/npm run build:web/);
  });

  it('names the port when it is in use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segrad-web-'));
    const a = await startWebServer({ dir, port: 0 });
    const port = Number(new URL(a.url).port);
    try {
      await expect(startWebServer({ dir, port })).rejects.toThrow(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use.*--port`));
    } finally {
      await a.close();
    }
  });

  it('serves a folder, prints the URL and stops on SIGINT with exit code 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segrad-web-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>hello');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a.css'), 'body{}');
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const done = web.run(['--port', '0', '--no-open', '--dir', dir]);
    await vi.waitFor(() => expect(lines.join('\n')).toMatch(/segrad playground: http:\/\/127\.0\.0\.1:\d+\//), { timeout: 5000 });
    const url = lines.join('\n').match(/http:\/\/127\.0\.0\.1:\d+\//)![0];
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('hello');
    const css = await fetch(new URL('sub/a.css', url));
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    // the package's sources are served under /src/ for the page's links
    const src = await fetch(new URL('src/cli/commands/web.ts', url));
    expect(src.status).toBe(200);
    expect(await src.text()).toContain('startWebServer');
    process.emit('SIGINT');
    await expect(done).resolves.toBe(0);
  });
});
