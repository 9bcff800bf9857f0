import { readdir, readFile, stat } from 'node:fs/promises'
import { compareText } from '../shared/hash.js'
import { join, relative, sep } from 'node:path'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import type { LoadError } from './load-error.js'

export const MAX_FILE_BYTES = 5 * 1024 * 1024
export const MAX_FILES = 1000

export interface SourceFile {
  /** Path relative to the root folder, with forward slashes. */
  file: string
  content: unknown
}

/** Whether a file is data to load (rules, price books), as opposed to schemas and tests beside them. */
export function isDataFile(name: string): boolean {
  return /\.(ya?ml|json)$/.test(name) && !/\.schema\.json$/.test(name) && !/\.test\.(ya?ml|json)$/.test(name)
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
    if ((await stat(full)).size > MAX_FILE_BYTES) {
      errors.push({ file, path: '', message: `file larger than ${MAX_FILE_BYTES} bytes` })
      continue
    }
    const text = await readFile(full, 'utf8')
    try {
      // YAML 1.2 core schema: dates stay strings, and JSON is valid YAML, so one parser reads both.
      const content = parseYaml(text, { schema: 'core', uniqueKeys: true, maxAliasCount: 100 })
      sources.push({ file, content })
    } catch (error) {
      const line = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : ''
      errors.push({ file, path: '', message: `not valid YAML/JSON${line}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` })
    }
  }
  return { sources, errors }
}
