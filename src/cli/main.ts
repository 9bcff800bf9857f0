import { readFileSync } from 'node:fs'
import { Value } from '@sinclair/typebox/value'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { openDatabase } from '../db/database.js'
import { DataDirLockedError } from '../db/data-dir-lock.js'
import { migrateToLatest } from '../db/migrate.js'
import { checkpointAudit, verifyAudit } from '../audit/audit.service.js'
import { AuditCheckpointSchema, type AuditCheckpoint } from '../audit/checkpoint.js'
import { AppError } from '../errors.js'
import { createPrincipal } from '../principals/principal.service.js'
import { isRole, ROLES, type Role } from '../principals/roles.js'
import { systemClock } from '../shared/clock.js'
import { EXIT, registerRuleCommands } from './rules-commands.js'

function collectRole(value: string, previous: Role[]): Role[] {
  if (!isRole(value)) throw new InvalidArgumentError(`unknown role; one of: ${ROLES.join(', ')}`)
  return [...previous, value]
}

/** A checkpoint given as JSON text, or as the name of a file holding it. */
function parseCheckpoint(value: string): AuditCheckpoint {
  let text = value
  if (!value.trimStart().startsWith('{')) {
    try {
      text = readFileSync(value, 'utf8')
    } catch (error) {
      throw new InvalidArgumentError(`cannot read ${value}: ${(error as Error).message}`)
    }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new InvalidArgumentError('not JSON: give the checkpoint as printed by `qtc audit checkpoint`, or a file holding it')
  }
  const first = Value.Errors(AuditCheckpointSchema, parsed).First()
  if (first) throw new InvalidArgumentError(`not a checkpoint: ${first.path || '/'} ${first.message}`)
  return parsed as AuditCheckpoint
}

async function withDatabase<T>(purpose: string, work: (db: Awaited<ReturnType<typeof openDatabase>>, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig()
  const database = await openDatabase(config, { purpose: `qtc ${purpose}` })
  try {
    await migrateToLatest(database)
    return await work(database, config)
  } finally {
    await database.close()
  }
}

export function buildCli(): Command {
  const program = new Command('qtc').description('QTC quote-to-cash: database, keys and rule tooling').showHelpAfterError().exitOverride()

  program
    .command('migrate')
    .description('Apply pending database migrations (DATABASE_URL, or the embedded database in QTC_DATA_DIR)')
    .action(async () => {
      const applied = await withDatabase('migrate', (database) => migrateToLatest(database))
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n')
    })

  const keys = program.command('keys').description('API keys and the principals that hold them')
  keys
    .command('create')
    .description(
      'Create a principal with the given roles and print its new API key (shown once). With the embedded database, stop the service first: PGlite allows one process.',
    )
    .requiredOption('--name <name>', 'display name of the principal')
    .requiredOption('--role <role>', `a role (repeatable): ${ROLES.join(', ')}`, collectRole, [] as Role[])
    .option('--json', 'print JSON for tools')
    .action(async (options: { name: string; role: Role[]; json?: boolean }) => {
      if (options.name.length < 1 || options.name.length > 200) throw new InvalidArgumentError('--name must be 1 to 200 characters')
      const created = await withDatabase('keys create', (database) =>
        createPrincipal({ db: database.db, clock: systemClock }, { name: options.name, roles: options.role }, null),
      )
      const { principal, apiKey } = created.body
      process.stdout.write(
        options.json
          ? JSON.stringify({ principalId: principal.id, roles: principal.roles, apiKey }) + '\n'
          : `principal ${principal.id} (${principal.roles.join(', ')})\nAPI key (shown once): ${apiKey}\n`,
      )
    })

  const audit = program.command('audit').description('The hash-chained audit log')
  audit
    .command('verify')
    .description(
      'Verify the chain; exit 1 and name the first entry that does not verify. With --checkpoint, also that the chain still holds the entry the checkpoint signed (needs QTC_AUDIT_KEY)',
    )
    .option('--checkpoint <file-or-json>', 'a checkpoint from `qtc audit checkpoint`, the log or the outbox', parseCheckpoint)
    .option('--json', 'print JSON for tools')
    .action(async (options: { json?: boolean; checkpoint?: AuditCheckpoint }) => {
      const result = await withDatabase('audit verify', (database, config) =>
        verifyAudit(database.db, options.checkpoint ? { checkpoint: options.checkpoint, auditKey: config.auditKey } : {}),
      )
      const checkpoint = result.checkpoint
      const lines = options.json
        ? [JSON.stringify(result)]
        : [
            result.brokenAt ? `audit log BROKEN at entry ${result.brokenAt.seq}: ${result.brokenAt.reason}` : `audit log verified: ${result.entries} entries`,
            ...(checkpoint
              ? [checkpoint.ok ? `checkpoint at entry ${checkpoint.seq}: matches` : `checkpoint at entry ${checkpoint.seq} FAILS: ${checkpoint.reason}`]
              : []),
          ]
      process.stdout.write(lines.join('\n') + '\n')
      exitCode = result.ok ? EXIT.ok : EXIT.findings
    })
  audit
    .command('checkpoint')
    .description("Sign the chain's head with QTC_AUDIT_KEY and print it (also written to the outbox): keep it outside the database, to verify against later")
    .action(async () => {
      const { body } = await withDatabase('audit checkpoint', (database, config) =>
        checkpointAudit({ db: database.db, clock: systemClock, auditKey: config.auditKey }),
      )
      process.stdout.write(JSON.stringify(body) + '\n')
    })

  registerRuleCommands(program, (code) => {
    exitCode = code
  })
  return program
}

let exitCode: number = EXIT.ok

/** Another process holds the embedded database's folder: nothing was done. */
export const EXIT_LOCKED = 3

/** Runs the CLI and returns its exit code instead of exiting, so tests can call it. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildCli()
  try {
    exitCode = EXIT.ok
    await program.parseAsync(argv, { from: 'user' })
    return exitCode
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version "fail" with code 0; real usage errors are already printed.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`qtc: ${error.message}\n`)
      return EXIT.usage
    }
    if (error instanceof AppError) {
      process.stderr.write(`qtc: ${error.message}\n`)
      return EXIT.usage
    }
    if (error instanceof DataDirLockedError) {
      process.stderr.write(`qtc: ${error.message}\n`)
      return EXIT_LOCKED
    }
    throw error
  }
}

const isMain = process.argv[1] && /(?:^|[\\/])(?:qtc(?:\.mjs)?|main\.ts)$/.test(process.argv[1])
if (isMain) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`qtc: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(EXIT.usage)
    },
  )
}
