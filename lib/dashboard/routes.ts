import { createHash } from 'node:crypto';
import type { ApiRequest } from '../http/request';
import type { Route } from '../http/router';
import { assetResponse } from './assetResponse';
import { APP_JS } from './assets/app';
import { pageHtml } from './assets/page';
import { STYLE_CSS } from './assets/style';

export const DASHBOARD_PATH = '/dashboard';

/** A fetched asset whose `?v=` matches its content never changes: cache it for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The shell and any unversioned request are revalidated, so a deploy shows at once. */
const REVALIDATE = 'no-cache';

function contentVersion(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 12);
}

/**
 * The dashboard's three public files: the HTML shell, its script and its style.
 * Public because they hold no data: everything shown comes from the JSON API
 * with the key the user types. Built once per container.
 */
export function dashboardRoutes(): Route[] {
  const scriptVersion = contentVersion(APP_JS);
  const styleVersion = contentVersion(STYLE_CSS);
  const html = pageHtml({
    script: `${DASHBOARD_PATH}/app.js?v=${scriptVersion}`,
    style: `${DASHBOARD_PATH}/app.css?v=${styleVersion}`,
  });
  const cacheFor = (req: ApiRequest, version: string) => (req.query.v === version ? IMMUTABLE : REVALIDATE);
  return [
    { method: 'GET', path: DASHBOARD_PATH, public: true, handle: async () => assetResponse('html', html, REVALIDATE) },
    { method: 'GET', path: `${DASHBOARD_PATH}/app.js`, public: true, handle: async (req) => assetResponse('js', APP_JS, cacheFor(req, scriptVersion)) },
    { method: 'GET', path: `${DASHBOARD_PATH}/app.css`, public: true, handle: async (req) => assetResponse('css', STYLE_CSS, cacheFor(req, styleVersion)) },
  ];
}
