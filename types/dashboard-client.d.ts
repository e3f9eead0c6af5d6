/** The dashboard's browser script, bundled at build time (lib/build/dashboardClient.cjs). */
declare module 'virtual:dashboard-client' {
  const script: string;
  export default script;
}
