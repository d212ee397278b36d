// GET /openapi.json and the page that shows it, GET /docs (Swagger UI from
// swagger-ui-dist, served from this process: no CDN, works offline). Open to
// all, like health: mounted before authentication.
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { HttpError } from '../../errors';
import type { OpenApiDocument } from '../openapi/document';

const PAGE_DIR = path.join(__dirname, '..', 'openapi', 'page');
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** What the page loads from swagger-ui-dist; nothing else of the package is served (its index.html shows a demo API). */
const SWAGGER_UI_FILES = new Set(['/swagger-ui.css', '/swagger-ui-bundle.js', '/favicon-32x32.png']);

// Scripts and styles from this origin only; Swagger UI sets inline style
// attributes and draws icons as data: images.
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function docsRoutes(deps: { document: OpenApiDocument }): Router {
  const router = express.Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(deps.document);
  });
  router.get('/docs', (_req, res, next) => {
    res.set('Content-Security-Policy', PAGE_POLICY).sendFile('docs.html', { root: PAGE_DIR }, (err) => err && next(err));
  });
  const swaggerUi = express.static(SWAGGER_UI_DIR, { index: false });
  const page = express.static(PAGE_DIR, { index: false });
  router.use('/docs/assets', (req: Request, res: Response, next: NextFunction) => {
    if (SWAGGER_UI_FILES.has(req.path)) swaggerUi(req, res, next);
    else if (req.path === '/init.js') page(req, res, next);
    else next(new HttpError(404, 'not_found', 'no such asset'));
  });
  return router;
}
