/**
 * Every route module of the admin HTTP server, registered in this order by http.ts. Add yours
 * here (one line).
 */
import type { AdminRouteModule } from './http.js';
import { docsRoutes, nodeRoutes } from './routes-node.js';
import { sessionRoutes } from './routes-session.js';
import { clientRoutes } from './routes-clients.js';
import { messageRoutes } from './routes-messages.js';
import { securityRoutes } from './routes-security.js';
import { metricsRoutes } from './metrics.js';
import { topicRoutes } from './routes-topics.js';
import { dashboardRoutes } from './routes-dashboard.js';

export const routeModules: AdminRouteModule[] = [docsRoutes, sessionRoutes, nodeRoutes, clientRoutes, messageRoutes, securityRoutes, metricsRoutes, topicRoutes, dashboardRoutes];
