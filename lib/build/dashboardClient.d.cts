/** lib/build/dashboardClient.cjs, for the TypeScript that imports it (test/support/dashboardClient.ts). */
declare const dashboardClient: {
  bundleDashboardClient(): string;
  esbuildPlugin: { name: string; setup(build: unknown): void };
};
export = dashboardClient;
