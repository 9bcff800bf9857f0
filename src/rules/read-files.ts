import { readdir, readFile, stat } from 'node:fs/promises'
import { compareText } from '../shared/hash.js'
import { join, relative, sep } from 'node:path'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import type { LoadError, SourceFile } from '../shared/source-files.js'

export const MAX_FILE_BYTES = 5 * 1024 * 1024
export const MAX_FILES = 1000

export type { SourceFile }

/** Whether a file is data to load (rules, price books), as opposed to schemas and tests beside them. */
export function isDataFile(name: string): boolean {
  return /\.(ya?ml|json)$/.test(name) && !/\.schema\.json$/.test(name) && !/\.test\.(ya?ml|json)$/.test(name)
}

/** A file-system error as a one-line reason (`ENOENT: no such file or directory`), never a stack. */
function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error)
  return code && !message.startsWith(code) ? `${code}: ${message}` : message
}

/** Lists files under `root` (recursively, sorted, relative paths) that pass `accept`. */
export async function listFiles(root: string, accept: (name: string) => boolean): Promise<string[]> {
  const found: string[] = []
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => compareText(a.name, b.name))
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue
      const full = join(dir, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile() && accept(entry.name)) found.push(relative(root, full).split(sep).join('/'))
    }
  }
  await walk(root)
  return found.sort()
}

/**
 * Reads and parses the data files under `root`. A folder that cannot be read (a mistyped
 * RULES_DIR) is a LoadError naming it, like any other problem in the files.
 */
export async function readFolder(root: string, accept: (name: string) => boolean): Promise<{ sources: SourceFile[]; errors: LoadError[] }> {
  let files: string[]
  try {
    files = await listFiles(root, accept)
  } catch (error) {
    return { sources: [], errors: [{ file: '.', path: '', message: `cannot read the folder ${root}: ${reason(error)}` }] }
  }
  return readSourceFiles(root, files)
}

/** Escapes a property name for a JSON pointer (RFC 6901). */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** The id of the rule a JSON pointer is inside (`/rules/3/...`), when the file gives it one. */
export function ruleIdAt(content: unknown, path: string): string | undefined {
  const match = /^\/rules\/(\d+)(?:\/|$)/.exec(path)
  if (!match) return undefined
  const id = (content as { rules?: Array<{ id?: unknown }> } | null)?.rules?.[Number(match[1])]?.id
  return typeof id === 'string' ? id : undefined
}

/** Why PostgreSQL's jsonb would refuse a string (U+0000, a lone UTF-16 surrogate), or undefined. */
function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'the NUL character (\\0) is not allowed in text'
  if (/\p{Surrogate}/u.test(text)) return 'text must be valid Unicode: a lone surrogate (\\ud800–\\udfff) is not allowed'
  return undefined
}

/**
 * Values YAML can express but JSON (and so hashing and the database) cannot: numbers that
 * overflow (`1e400`, `.inf`, `-.inf`) or are not numbers (`.nan`), and text PostgreSQL
 * refuses in jsonb. Found right after parsing, so no later step (hashing throws on them, the
 * database fails the reload) ever sees one.
 */
export function unrepresentableValues(file: string, content: unknown): LoadError[] {
  const errors: LoadError[] = []
  const report = (path: string, message: string) => {
    const ruleId = ruleIdAt(content, path)
    errors.push({ file, ...(ruleId ? { ruleId } : {}), path, message })
  }
  const visit = (value: unknown, path: string): void => {
    if (errors.length >= 50) return
    if (typeof value === 'number' && !Number.isFinite(value)) {
      report(
        path,
        Number.isNaN(value)
          ? 'must be a finite number, not NaN (.nan)'
          : `must be a finite number, not ${value > 0 ? '' : '-'}Infinity (.inf, or too large, like 1e400)`,
      )
    } else if (typeof value === 'string') {
      const problem = textProblem(value)
      if (problem) report(path, problem)
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${path}/${i}`))
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const at = `${path}/${pointerToken(key)}`
        const problem = textProblem(key)
        if (problem) report(at, `in a key: ${problem}`)
        visit(item, at)
      }
    }
  }
  visit(content, '')
  return errors
}

/** Reads and parses YAML or JSON files; problems become LoadErrors, never exceptions. */
export async function readSourceFiles(root: string, files: string[]): Promise<{ sources: SourceFile[]; errors: LoadError[] }> {
  const sources: SourceFile[] = []
  const errors: LoadError[] = []
  if (files.length > MAX_FILES) {
    errors.push({ file: '.', path: '', message: `more than ${MAX_FILES} files` })
    return { sources, errors }
  }
  for (const file of files) {
    const full = join(root, file)
    let text: string
    try {
      if ((await stat(full)).size > MAX_FILE_BYTES) {
        errors.push({ file, path: '', message: `file larger than ${MAX_FILE_BYTES} bytes` })
        continue
      }
      text = await readFile(full, 'utf8')
    } catch (error) {
      // Removed or made unreadable between listing and reading (an editor saving, a checkout).
      errors.push({ file, path: '', message: `cannot read the file: ${reason(error)}` })
      continue
    }
    try {
      // YAML 1.2 core schema: dates stay strings, and JSON is valid YAML, so one parser reads both.
      const content = parseYaml(text, { schema: 'core', uniqueKeys: true, maxAliasCount: 100 })
      const unrepresentable = unrepresentableValues(file, content)
      if (unrepresentable.length > 0) errors.push(...unrepresentable)
      else sources.push({ file, content })
    } catch (error) {
      const line = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : ''
      errors.push({ file, path: '', message: `not valid YAML/JSON${line}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` })
    }
  }
  return { sources, errors }
}
