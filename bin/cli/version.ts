/** `mailprobe --version`: the version in the package's own package.json. */
import { readFileSync } from 'node:fs';

/**
 * The package.json is two levels up from the sources (bin/cli/) and three from the build
 * (dist/bin/cli/): walk up to the first one named mailprobe instead of hard-coding either.
 */
export function packageVersion(from: string | URL = import.meta.url): string {
  let dir = new URL('.', from);
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mailprobe' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json at this level: keep walking up.
    }
    dir = new URL('..', dir);
  }
  return 'unknown';
}
