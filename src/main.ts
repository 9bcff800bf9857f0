import closeWithGrace from 'close-with-grace'
import { ConfigError, loadConfig, type Config } from './config.js'
import { DataDirLockedError } from './db/data-dir-lock.js'
import { startService } from './server.js'

/** Entry point of `npm start`: configuration errors name the variable and exit 1. */
async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`qtc: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
  const service = await startService(config)
  // SIGTERM, SIGINT or a crash: let in-flight requests finish, close the database (and release
  // the data folder), but never hang past the deadline — a process manager is waiting.
  closeWithGrace({ delay: SHUTDOWN_DEADLINE_MS }, async ({ signal, err }) => {
    if (err) service.app.log.error({ err }, 'shutting down after an unexpected error')
    else service.app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    await service.stop()
  })
}

/** How long in-flight requests get to finish on shutdown before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000

main().catch((error) => {
  if (error instanceof DataDirLockedError) {
    process.stderr.write(`qtc: refusing to start: ${error.message}\n`)
    process.exit(1)
  }
  process.stderr.write(`qtc: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
