/**
 * The system tests need Debian's postfix, nginx, dnsmasq and openssl binaries. In CI a
 * missing binary is a failure that names the install script (a silently skipped suite is a
 * green build that tested nothing); on a developer's machine the suite is skipped with the
 * reason in its title.
 */
import { accessSync, constants } from 'node:fs';
import { beforeAll } from 'vitest';

export const INSTALL_SCRIPT = 'scripts/install-system-deps.sh';

/** Absolute paths as Debian installs them: root's PATH has /usr/sbin, a developer's may not. */
export const BINARIES = {
  postfix: '/usr/sbin/postfix',
  nginx: '/usr/sbin/nginx',
  dnsmasq: '/usr/sbin/dnsmasq',
  openssl: '/usr/bin/openssl',
  nsd: '/usr/sbin/nsd',
  unbound: '/usr/sbin/unbound',
  'ldns-keygen': '/usr/bin/ldns-keygen',
  'ldns-signzone': '/usr/bin/ldns-signzone',
  /** spf-tools-perl: Mail::SPF's command line, the independent SPF implementation. */
  spfquery: '/usr/bin/spfquery',
  dovecot: '/usr/sbin/dovecot',
  doveadm: '/usr/bin/doveadm',
  opendkim: '/usr/sbin/opendkim',
} as const;

export type Binary = keyof typeof BINARIES;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface SystemRequirements {
  /** What is missing, e.g. `postfix (/usr/sbin/postfix)`. */
  readonly missing: readonly string[];
  /** For `describe.skipIf(...)`: only outside CI, and only when something is missing. */
  readonly skip: boolean;
  /** A suite title that says why it was skipped, when it is. */
  title(name: string): string;
  /** Call inside the describe block: in CI, fails the suite's hooks when a binary is missing. */
  enforce(): void;
}

export function systemRequirements(...needed: Binary[]): SystemRequirements {
  const missing: string[] = needed.filter((b) => !executable(BINARIES[b])).map((b) => `${b} (${BINARIES[b]})`);
  // Postfix's master must start as root: it owns its queue as the postfix user.
  if (needed.includes('postfix') && process.getuid?.() !== 0) missing.push('root privileges (for postfix)');
  const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
  const why = missing.join(', ');
  return {
    missing,
    skip: missing.length > 0 && !inCi,
    title: (name) =>
      missing.length > 0 && !inCi
        ? `${name} [skipped: ${why} missing; run ${INSTALL_SCRIPT} and the tests as root]`
        : name,
    enforce: () => {
      beforeAll(() => {
        if (missing.length > 0) {
          throw new Error(`system test requirements missing: ${why}; CI must run ${INSTALL_SCRIPT} before npm test`);
        }
      });
    },
  };
}
