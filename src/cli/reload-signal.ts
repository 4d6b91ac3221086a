/**
 * SIGHUP for `cicada broker`: re-read the password and ACL files, as Mosquitto does. Node's
 * default for SIGHUP is to exit (status 129), so the launcher (bin/cicada.js) holds SIGHUP from
 * its first line, before the broker's modules load, its warm-up and its database restore: a
 * reload asked for during start-up is remembered and runs once, when the broker is up.
 * This module imports nothing, so that holding costs the launcher nothing.
 */

let requested = false;
let holding = false;

function remember(): void {
  requested = true;
}

/** Whether `argv` (without node and the script) starts the broker, as main() dispatches it. */
export function isBrokerCommand(argv: readonly string[]): boolean {
  const command = argv[0];
  return command === undefined || command.startsWith('-') || command === 'broker';
}

/** From now on SIGHUP does not end the process; a request waits for `handReloadsTo`. */
export function holdReloads(): void {
  if (holding) return;
  holding = true;
  process.on('SIGHUP', remember);
}

/**
 * The broker is up: SIGHUP calls `reload` from now on, and a SIGHUP received while holding
 * (once or many times) calls it once now. Returns the function that stops listening.
 */
export function handReloadsTo(reload: () => void): () => void {
  process.on('SIGHUP', reload); // before the holder goes, so that no SIGHUP finds no listener
  process.off('SIGHUP', remember);
  holding = false;
  if (requested) {
    requested = false;
    reload();
  }
  return () => process.off('SIGHUP', reload);
}
