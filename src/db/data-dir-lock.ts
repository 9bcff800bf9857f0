import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

/** The file, inside the data folder, that says which process owns the embedded database. */
export const LOCK_FILE = 'qtc.lock'

/** What the lock file holds: enough for a refusal to name the owner, and for a later start to see it is gone. */
export interface LockOwner {
  pid: number
  host: string
  /** `server`, or the CLI command that holds the folder. */
  purpose: string
  started: string
  /** Random, so a release removes this process's lock and never a successor's. */
  token: string
}

export interface DataDirLock {
  readonly file: string
  readonly owner: LockOwner
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): void
}

/** Another live process owns the data folder. The message names the folder and that process. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError'
  constructor(
    readonly dataDir: string,
    readonly holder: LockOwner,
  ) {
    const where = holder.host === hostname() ? `process ${holder.pid}` : `process ${holder.pid} on host ${holder.host}`
    super(
      `the embedded database in ${dataDir} is in use by ${where} (${holder.purpose}, since ${holder.started}). ` +
        "PGlite allows one process: stop that process first, or use the running service's API " +
        `(if no such process exists, delete ${join(dataDir, LOCK_FILE)}).`,
    )
  }
}

/** A takeover mutex older than this was left by a process that died in the middle of one. */
const TAKEOVER_STALE_MS = 10_000

/**
 * Takes the data folder for this process, or throws DataDirLockedError naming the owner.
 *
 * Why a pid file and not an OS lock or mtime-based lock (proper-lockfile): Node has no
 * flock, and an mtime lock only goes stale after its timeout, so a restart after a crash
 * would have to wait; a pid is checked at once with `kill(pid, 0)`.
 *
 * Races: the lock file is created complete and atomically with link(2), which fails if the
 * name exists, so two starters can never both create it, nor see it half-written. Taking
 * over a stale lock (its owner is dead) is unlink-then-create, which two starters could
 * interleave — each deleting the other's fresh lock — so it runs under a second,
 * create-exclusive mutex file, and the stale content is read again under it.
 */
export function lockDataDir(dataDir: string, purpose: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, LOCK_FILE)
  const owner: LockOwner = { pid: process.pid, host: hostname(), purpose, started: new Date().toISOString(), token: randomBytes(12).toString('hex') }
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(file, owner)) return held(file, owner)
    const current = readOwner(file)
    if (current === 'absent') continue
    if (current !== 'unreadable' && isAlive(current)) throw new DataDirLockedError(dataDir, current)
    takeOver(file, current)
  }
  throw new Error(`could not take the lock ${file}: it keeps changing; is another process starting at the same time?`)
}

function tryCreate(file: string, owner: LockOwner): boolean {
  const temp = `${file}.${owner.pid}.${owner.token}`
  writeFileSync(temp, JSON.stringify(owner) + '\n', { mode: 0o600 })
  try {
    linkSync(temp, file)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    unlinkSync(temp)
  }
}

function readOwner(file: string): LockOwner | 'absent' | 'unreadable' {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent'
    throw error
  }
  try {
    const value = JSON.parse(text) as LockOwner
    return Number.isInteger(value.pid) && typeof value.host === 'string' && typeof value.token === 'string' ? value : 'unreadable'
  } catch {
    return 'unreadable'
  }
}

/**
 * True unless the owner is known to be gone. A process on another host (a shared folder)
 * cannot be checked from here, so it counts as alive: refusing is the safe side.
 */
function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true
  try {
    process.kill(owner.pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

function takeOver(file: string, stale: LockOwner | 'unreadable'): void {
  const mutex = `${file}.takeover`
  try {
    writeFileSync(mutex, String(process.pid), { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    // Someone else is taking over; a mutex left by a crash mid-takeover is cleared once old.
    if (Date.now() - mtimeMs(mutex) > TAKEOVER_STALE_MS) unlinkQuietly(mutex)
    return
  }
  try {
    const again = readOwner(file)
    const same = again === stale || (typeof again === 'object' && typeof stale === 'object' && again.token === stale.token)
    if (same) unlinkQuietly(file)
  } finally {
    unlinkQuietly(mutex)
  }
}

function held(file: string, owner: LockOwner): DataDirLock {
  let released = false
  const release = () => {
    if (released) return
    released = true
    process.removeListener('exit', release)
    const current = readOwner(file)
    if (typeof current === 'object' && current.token === owner.token) unlinkQuietly(file)
  }
  // process.exit() skips finally blocks and close handlers; the exit event still runs, synchronously.
  process.once('exit', release)
  return { file, owner, release }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return Date.now()
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}
