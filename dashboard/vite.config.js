// Vite config for strait's dashboard.
//   build:  output to $STRAIT_DASHBOARD_OUT (default dist/), relative asset URLs (base './') so that
//           straitd can serve index.html at / and the bundle at /assets/...; nothing is loaded from
//           outside the bundle (the page must work offline).
//   dev:    `STRAIT_SERVER=http://127.0.0.1:PORT STRAIT_TOKEN_FILE=DIR/admin.token npm run dev`
//           proxies /api to straitd and adds the admin token as a bearer, so no login is needed
//           (GET only: the token never serves another method).
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';

function devProxy() {
  const target = process.env.STRAIT_SERVER;
  if (!target) return undefined;
  const headers = {};
  if (process.env.STRAIT_TOKEN_FILE) {
    const token = readFileSync(process.env.STRAIT_TOKEN_FILE, 'utf8').trim();
    headers.Authorization = `Bearer ${token}`;
  }
  // The page only reads; so does the proxy that lends it the admin token. Anything else (a page
  // elsewhere posting to the dev server) is refused, not forwarded with the token.
  const bypass = (req, res) => {
    if (req.method === 'GET') return undefined;
    res.statusCode = 405;
    res.end('the dashboard\'s dev proxy forwards GET only\n');
    return false;
  };
  return { '/api': { target, changeOrigin: true, headers, bypass } };
}

export default defineConfig({
  base: './',
  build: {
    outDir: process.env.STRAIT_DASHBOARD_OUT || 'dist',
    emptyOutDir: true,
    // Every asset is a file under assets/ (no data: URLs), so a strict img-src 'self' CSP works.
    assetsInlineLimit: 0,
    // cytoscape alone is ~400 kB minified; one page, served locally: no need to warn about it.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    host: '127.0.0.1',
    proxy: devProxy(),
  },
  preview: {
    host: '127.0.0.1',
    proxy: devProxy(),
  },
});
