// The least any Node.js CLI can spend on `mailprobe smtp`'s dialogue (bench/cli-speed.ts):
// connect, EHLO, STARTTLS, a TLS handshake verified against the given CA, EHLO, QUIT, and
// nothing else (no argument parsing, no result, no DNS). Its wall time next to swaks' shows
// how much of the gap is Node itself (start-up, OpenSSL initialisation) and how much mailprobe.
//
//   node bench/node-floor.mjs HOST PORT CA_FILE
import { readFileSync } from 'node:fs';
import net from 'node:net';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import tls from 'node:tls';

const [host, port, caFile] = process.argv.slice(2);
const deadline = setTimeout(() => {
  process.stderr.write('node-floor: no answer within 10 s\n');
  process.exit(1);
}, 10_000);
const plain = net.connect(Number(port), host);
let stream = plain;
let buffered = '';
let step = 'greeting';

const send = (line) => stream.write(`${line}\r\n`);
/** A reply is complete at its last line ("250 …", not "250-…"). */
const complete = (text) => /(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(text);

function onData(chunk) {
  buffered += chunk;
  if (!complete(buffered)) return;
  const reply = buffered;
  buffered = '';
  if (!/^[23]/.test(reply)) {
    process.stderr.write(`node-floor: ${step}: ${reply}`);
    process.exit(1);
  }
  switch (step) {
    case 'greeting':
      step = 'ehlo';
      send('EHLO bench.invalid');
      break;
    case 'ehlo':
      step = 'starttls';
      send('STARTTLS');
      break;
    case 'starttls':
      plain.removeListener('data', onData);
      stream = tls.connect({ socket: plain, servername: 'localhost', ca: [readFileSync(caFile)] }, () => {
        step = 'ehlo2';
        send('EHLO bench.invalid');
      });
      stream.setEncoding('latin1');
      stream.on('data', onData);
      stream.on('error', (err) => {
        process.stderr.write(`node-floor: ${err.message}\n`);
        process.exit(1);
      });
      break;
    case 'ehlo2':
      step = 'quit';
      send('QUIT');
      break;
    case 'quit':
      clearTimeout(deadline);
      stream.destroy();
      break;
  }
}
plain.setEncoding('latin1');
plain.on('data', onData);
plain.on('error', (err) => {
  process.stderr.write(`node-floor: ${err.message}\n`);
  process.exit(1);
});
