import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

type Directives = Record<string, string[] | null>;

/**
 * Where the map tiles of MAP_TILE_URL come from, as a CSP source: `https://tile.openstreetmap.org`; a host with a
 * placeholder (Leaflet's `{s}` subdomains) becomes a wildcard on the labels after it, `https://*.tile.openstreetmap.org`
 * (CSP allows `*` only as the leftmost label). Null when there are no tiles.
 */
export function tileSource(tileUrl: string | null | undefined): string | null {
  const match = tileUrl ? /^(https?:\/\/)([^/?#]+)/.exec(tileUrl) : null;
  if (!match?.[1] || !match[2]) return null;
  const labels = match[2].split('.');
  const lastTemplated = labels.map((label) => label.includes('{')).lastIndexOf(true);
  const host = lastTemplated < 0 ? match[2] : ['*', ...labels.slice(lastTemplated + 1)].join('.');
  return `${match[1]}${host}`;
}

/**
 * The dashboard's content security policy: its own bundle only (Vite emits no inline script), images from itself,
 * Leaflet's bundled data: URIs and the tile server, fetch and SSE (/api/events) to itself, no plugins, no framing.
 * Preact, Leaflet and uPlot set styles through the CSSOM (element.style), which CSP does not govern, so style-src
 * needs no 'unsafe-inline'. No upgrade-insecure-requests: on plain http over a LAN it would break every asset.
 */
export function dashboardCsp(tileUrl: string | null | undefined): Directives {
  const tiles = tileSource(tileUrl);
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:', ...(tiles ? [tiles] : [])],
    'connect-src': ["'self'"],
    'font-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'upgrade-insecure-requests': null,
  };
}

/** /docs (swagger-ui): its React renders some styles inline and its logos are data: and SVG images. */
export function docsCsp(): Directives {
  return { ...dashboardCsp(null), 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] };
}

/**
 * Security headers on every response (@fastify/helmet) with the dashboard's CSP, and a relaxed CSP for the
 * routes under /docs. Register before the routes: the /docs override is applied as each route is added.
 */
export async function registerSecurityHeaders(app: FastifyInstance, options: { tileUrl: string | null | undefined }): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/')) {
      // Read by @fastify/helmet's own onRoute hook, which runs after this one.
      route.helmet = { contentSecurityPolicy: { useDefaults: false, directives: docsCsp() } };
    }
  });
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: dashboardCsp(options.tileUrl) },
    // The dashboard embeds nothing cross-origin but map tiles, which COEP would block (tile servers send no CORP).
    crossOriginEmbedderPolicy: false,
  });
}
