/**
 * Vitest global setup: the CLI and `mamori serve` processes the tests start run the compiled
 * dist/ (as in production), so it is brought up to date once here rather than by the first of
 * many processes started at once.
 */
export default async function setup(): Promise<void> {
  // @ts-expect-error: a plain ESM script without type declarations
  const { build } = (await import('../../scripts/build.mjs')) as { build: (o: { ifStale: boolean }) => boolean };
  build({ ifStale: true });
}
