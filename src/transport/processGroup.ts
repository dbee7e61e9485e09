import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Runs `file args` in a process group of its own, in the caller's session: `perl` calls
 * `setpgid(0, 0)` and execs the program in its place (same pid, same descriptors, the IPC
 * channel too). Node's `detached` would call `setsid()` instead: a new session, which on Linux
 * is a new scheduler autogroup, at nice 0 whatever the caller's nice, so a `nice -n 19`
 * service's workers took CPU from everything else. In the caller's session a worker shares its
 * autogroup and keeps its nice; in a group of its own, Ctrl-C and a supervisor's SIGTERM to
 * the caller's group do not reach it, not even while it boots.
 *
 * Without `perl` on the PATH (a distroless or Alpine image), it falls back to `detached`
 * (`setsid()`), as before; on Windows, where there are no groups, it is a plain spawn.
 */
export function spawnInGroup(file: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  if (process.platform === 'win32') return spawn(file, args, options);
  const perl = perlPath();
  if (!perl) return spawn(file, args, { ...options, detached: true });
  return spawn(perl, ['-e', setpgidThenExec, file, ...args], options);
}

/** `setpgid(0, 0)`, then exec the program in its place; on failure say why and exit 127, as a shell does. */
const setpgidThenExec = 'setpgrp(0, 0) or die "setpgid: $!\\n"; exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\\n"; exit 127';

/** Where `perl` is, looked up once on the PATH; `null` if it is not there. */
let perl: string | null | undefined;

function perlPath(): string | null {
  if (perl !== undefined) return perl;
  perl = null;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'perl'), constants.X_OK);
      perl = join(dir, 'perl');
      break;
    } catch {
      // not in this folder
    }
  }
  return perl;
}
