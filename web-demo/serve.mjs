// Tiny static server for the demo: `node web-demo/serve.mjs --port 8080 [--root DIR]`.
// Serves web-demo/www on 127.0.0.1 with the right MIME types (application/wasm
// for .wasm, text/javascript for .js/.mjs). Also importable: `serve({root, port})`.
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.ts': 'text/plain; charset=utf-8', '.ico': 'image/x-icon',
};

export function serve({ root, port = 0, host = '127.0.0.1' }) {
  const base = path.resolve(root);
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = path.normalize(path.join(base, decodeURIComponent(url.pathname)));
    if (!file.startsWith(base)) { res.writeHead(403).end(); return; }
    try {
      if ((await fs.stat(file)).isDirectory()) file = path.join(file, 'index.html');
      const body = await fs.readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return new Promise(resolve => server.listen(port, host, () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = name => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = arg('--root') || path.join(here, 'www');
  const server = await serve({ root, port: Number(arg('--port') || 8080) });
  console.log(`edgepick demo: http://127.0.0.1:${server.address().port}/ (serving ${root})`);
}
