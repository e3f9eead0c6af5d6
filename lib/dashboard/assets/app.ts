import script from 'virtual:dashboard-client';

/**
 * The dashboard's script, served as /dashboard/app.js: lib/dashboard/client/,
 * TypeScript modules that tsc and ESLint read, bundled into this string when
 * the function is built (lib/build/dashboardClient.cjs), so the Lambda reads
 * no file at run time.
 */
export const APP_JS: string = script;
