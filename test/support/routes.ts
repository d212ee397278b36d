// Every route an Express app answers, read from its router: a test that walks
// them all cannot forget a route added later.
import type express from 'express';

export interface AppRoute {
  method: string;
  path: string;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

export function appRoutes(app: express.Express): AppRoute[] {
  const root = (app as unknown as { router: { stack: Layer[] } }).router;
  const routes: AppRoute[] = [];
  const visit = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) if (on) routes.push({ method: method.toUpperCase(), path: layer.route.path });
      } else if (layer.handle?.stack) {
        visit(layer.handle.stack);
      }
    }
  };
  visit(root.stack);
  return routes;
}
