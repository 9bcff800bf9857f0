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
  const shutdown = (signal: string) => {
    service.app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    service.stop().then(
      () => process.exit(0),
      (error) => {
        service.app.log.error({ err: error }, 'error during shutdown')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
}

main().catch((error) => {
  if (error instanceof DataDirLockedError) {
    process.stderr.write(`qtc: refusing to start: ${error.message}\n`)
    process.exit(1)
  }
  process.stderr.write(`qtc: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
