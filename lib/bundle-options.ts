/**
 * How a probe handler is bundled, in one place for both paths: `npm run build`
 * (scripts/build.ts, esbuild directly, shipped in the package) and NodejsFunction's
 * bundling from source in a clone (lib/probe-function.ts). Pure data: no esbuild, no CDK.
 */

/** Bundled CommonJS dependencies still call require() for Node built-ins; ESM has none. */
export const REQUIRE_BANNER = "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);";

/** The Lambda runtime the bundles target (`lambda.Runtime.NODEJS_22_X`). */
export const HANDLER_TARGET = 'node22';

/** ESM builds of the SDK first: smaller and faster to load than the CommonJS ones. */
export const HANDLER_MAIN_FIELDS: readonly string[] = ['module', 'main'];

/** esbuild options of a handler bundle (entryPoints and outfile are added per handler). */
export const HANDLER_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node' as const,
  format: 'esm' as const,
  target: HANDLER_TARGET,
  minify: true,
  // Bundle the SDK too: the deployed code is the code the tests ran, not the runtime's copy.
  external: [] as string[],
  mainFields: [...HANDLER_MAIN_FIELDS],
  sourcemap: false,
  banner: { js: REQUIRE_BANNER },
  legalComments: 'none' as const,
};
