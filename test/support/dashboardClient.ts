import dashboardClient from '../../lib/build/dashboardClient.cjs';

/** `virtual:dashboard-client` for tests (vitest.config.mts): the dashboard's script, bundled as the Lambda build does. */
export default dashboardClient.bundleDashboardClient();
