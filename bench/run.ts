/**
 * `npm run bench [NAME...]`: every bench below in turn (or only those named). Each lives
 * in its own file exporting an async function, and prints its figures as JSON and one-line summaries.
 * Benches that need Debian tools (postfix, swaks, openssl, testssl.sh) say what they skip.
 * Register a bench with one line here.
 */
const BENCHES: Record<string, () => Promise<() => Promise<void>>> = {
  'smtp-throughput': async () => (await import('./smtp-throughput.js')).run,
  'round-trips': async () => (await import('./round-trips.js')).run,
  'packet-link': async () => (await import('./packet-link.js')).run,
  'cli-speed': async () => (await import('./cli-speed.js')).run,
  state: async () => (await import('./state.js')).benchState,
  fleet: async () => (await import('./fleet.js')).benchFleet,
  'dnssec-hostile': async () => (await import('./dnssec-hostile.js')).run,
  'sender-auth': async () => (await import('./sender-auth.js')).run,
  flow: async () => (await import('./flow.js')).run,
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in BENCHES)) {
    console.error(`bench: unknown bench "${name}"; expected some of ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
}
for (const [name, load] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n=== bench ${name} ===`);
  await (
    await load()
  )();
}
