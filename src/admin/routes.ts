/**
 * Every route module of the admin HTTP server, registered in this order by http.ts. Add yours
 * here (one line).
 */
import type { AdminRouteModule } from './http.js';
import { sessionRoutes } from './routes-session.js';
import { topicRoutes } from './routes-topics.js';
import { dashboardRoutes } from './routes-dashboard.js';

export const routeModules: AdminRouteModule[] = [sessionRoutes, topicRoutes, dashboardRoutes];
