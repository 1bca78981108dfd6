/**
 * `openssl s_server` as a second TLS implementation we did not write: TLS from the first
 * byte on 127.0.0.1:PORT, with whatever protocol and cipher switches the test passes
 * (e.g. `-tls1` for a TLS 1.0-only endpoint). `-www` answers without reading stdin, so the
 * server keeps accepting one connection after another until stopped.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, LOOPBACK, scratchDir, startDaemon } from './daemon.js';
import { BINARIES } from './requirements.js';

export interface OpensslServerOptions {
  /** Key and chain (leaf first), PEM. */
  readonly tls: { readonly key: string; readonly cert: string };
  /** Protocol/cipher switches, e.g. `['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0']`. */
  readonly args: readonly string[];
}

export interface OpensslServerInstance {
  readonly port: number;
  readonly startupMs: number;
  stop(): Promise<void>;
}

export async function startOpensslServer(options: OpensslServerOptions): Promise<OpensslServerInstance> {
  const scratch = scratchDir('s_server');
  const keyFile = join(scratch.path, 'key.pem');
  const certFile = join(scratch.path, 'chain.pem');
  writeFileSync(keyFile, options.tls.key, { mode: 0o600 });
  writeFileSync(certFile, options.tls.cert);
  const port = await freePort();
  const daemon = await startDaemon({
    name: 'openssl s_server',
    command: BINARIES.openssl,
    args: [
      's_server',
      '-accept',
      `${LOOPBACK}:${port}`,
      '-key',
      keyFile,
      // -cert takes the first certificate; -cert_chain sends the rest of the chain after it.
      '-cert',
      certFile,
      '-cert_chain',
      certFile,
      '-www',
      '-quiet',
      ...options.args,
    ],
    readyPorts: [port],
    scratch,
  });
  return { port, startupMs: daemon.startupMs, stop: daemon.stop };
}
