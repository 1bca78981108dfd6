/**
 * A private nginx (Debian's package) serving MTA-STS policies over HTTPS on 127.0.0.1:PORT:
 * one `server` block per policy host, chosen by SNI as on a real shared web server, each
 * with its own certificate. Foreground (`daemon off`), pid, logs and temp paths in a
 * scratch directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileLog, freePort, LOOPBACK, scratchDir, startDaemon } from './daemon.js';
import { BINARIES } from './requirements.js';

export interface PolicySite {
  /** The policy host, `mta-sts.DOMAIN`; the server_name SNI selects. */
  readonly serverName: string;
  /** Key and chain (leaf first), PEM. */
  readonly tls: { readonly key: string; readonly cert: string };
  /** Served at /.well-known/mta-sts.txt as text/plain. */
  readonly policy: string;
  /** Serve the policy with this media type instead (a misconfigured server). @default 'text/plain' */
  readonly contentType?: string;
  /** Answer 301 to this URL instead of serving the policy (RFC 8461 §3.3 forbids following it). */
  readonly redirectTo?: string;
  /**
   * Only these TLS versions (nginx `ssl_protocols`), e.g. `['TLSv1', 'TLSv1.1']` for a legacy
   * host; old versions also get `@SECLEVEL=0` ciphers, as Debian's OpenSSL refuses them otherwise.
   * nginx takes the protocols of an SNI-selected server from the default server of the port,
   * so give such a site an instance of its own. @default nginx's default
   */
  readonly protocols?: readonly ('TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3')[];
}

export interface NginxInstance {
  readonly port: number;
  readonly startupMs: number;
  log(): string;
  stop(): Promise<void>;
}

function serverBlock(dir: string, port: number, site: PolicySite, index: number): string {
  const root = join(dir, 'sites', String(index));
  mkdirSync(join(root, '.well-known'), { recursive: true, mode: 0o755 });
  writeFileSync(join(root, '.well-known', 'mta-sts.txt'), site.policy, { mode: 0o644 });
  // The master reads keys as root before the workers drop to nobody.
  writeFileSync(join(dir, `site${index}.key`), site.tls.key, { mode: 0o600 });
  writeFileSync(join(dir, `site${index}.crt`), site.tls.cert, { mode: 0o644 });
  // The policy hostname must not contain "`", ";" or braces; test names never do.
  if (!/^[a-z0-9.-]+$/.test(site.serverName)) throw new Error(`unsafe server name ${site.serverName}`);
  if (site.contentType !== undefined && !/^[a-z]+\/[a-z0-9.+-]+$/.test(site.contentType)) {
    throw new Error(`unsafe content type ${site.contentType}`);
  }
  if (site.redirectTo !== undefined && !/^https:\/\/[a-z0-9./-]+$/.test(site.redirectTo)) {
    throw new Error(`unsafe redirect ${site.redirectTo}`);
  }
  return `
    server {
      listen ${LOOPBACK}:${port} ssl${index === 0 ? ' default_server' : ''};
      server_name ${site.serverName};
      ssl_certificate ${join(dir, `site${index}.crt`)};
      ssl_certificate_key ${join(dir, `site${index}.key`)};
      ${site.protocols !== undefined ? `ssl_protocols ${site.protocols.join(' ')};` : ''}
      ${site.protocols?.some((p) => p === 'TLSv1' || p === 'TLSv1.1') ? 'ssl_ciphers DEFAULT:@SECLEVEL=0;' : ''}
      root ${root};
      location = /.well-known/mta-sts.txt {
        ${site.redirectTo !== undefined ? `return 301 ${site.redirectTo};` : ''}
        types { }
        default_type ${site.contentType ?? 'text/plain'};
      }
      location / { return 404; }
    }`;
}

export async function startNginx(sites: readonly PolicySite[]): Promise<NginxInstance> {
  if (sites.length === 0) throw new Error('startNginx: at least one site');
  const scratch = scratchDir('nginx');
  const dir = scratch.path;
  const port = await freePort();
  mkdirSync(join(dir, 'tmp'), { mode: 0o755 });
  const servers = sites.map((site, i) => serverBlock(dir, port, site, i)).join('\n');
  const temp = (name: string): string => `${name}_temp_path ${join(dir, 'tmp', name)};`;
  const conf = `
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;
events { worker_connections 64; }
http {
  access_log ${join(dir, 'access.log')};
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  ${servers}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const log = fileLog(join(dir, 'error.log'));
  const daemon = await startDaemon({
    name: 'nginx',
    command: BINARIES.nginx,
    // -p: relative paths and the compiled-in defaults resolve inside the scratch dir.
    args: ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
    readyPorts: [port],
    diagnostics: log,
    scratch,
  });
  return { port, startupMs: daemon.startupMs, log, stop: daemon.stop };
}
