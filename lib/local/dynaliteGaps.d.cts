/** lib/local/dynaliteGaps.cjs, for the TypeScript that imports it (test/support/aws.ts). */
declare const dynaliteGaps: {
  fillDynaliteGaps(): void;
};
export = dynaliteGaps;
