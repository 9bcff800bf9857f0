import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { compareText, sha256Hex } from '../shared/hash.js'
import { LANGS, type Lang } from './locale.js'

export type { Lang } from './locale.js'

/** One language of one version of a set of terms and conditions, as the file says it. */
export interface TermsText {
  id: string
  version: string
  lang: Lang
  /** The first line of the file, without its `# `. */
  title: string
  /** The whole file (Markdown), title line included. */
  text: string
  /** Hex SHA-256 of the file's UTF-8 bytes: what a signed quote refers to. */
  sha256: string
}

/** A version of a set of terms, with the hash of each language's file. */
export interface TermsRef {
  id: string
  version: string
  sha256: Record<Lang, string>
}

export interface TermsLibrary {
  /** The highest version of a set of terms; throws for an unknown id. */
  latest(id: string): TermsRef
  /** One language of one version; throws when the library has no such version. */
  text(ref: { id: string; version: string }, lang: Lang): TermsText
  /** The ids of the sets of terms, sorted. */
  ids(): string[]
}

/** Raised by `loadTerms` with every problem found, each naming its file. */
export class TermsError extends Error {
  constructor(readonly problems: string[]) {
    super(`terms: ${problems.join('; ')}`)
    this.name = 'TermsError'
  }
}

const ID = /^[a-z0-9][a-z0-9_-]{0,63}$/
const VERSION = /^(0|[1-9]\d{0,5})(\.(0|[1-9]\d{0,5})){0,3}$/
const MAX_FILE_BYTES = 256 * 1024
const MAX_ENTRIES = 200

/** Numeric order of dotted versions: 1.10 comes after 1.9. */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

function subfolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort(compareText)
}

/**
 * Reads `<dir>/<id>/<version>/{en,fr}.md` synchronously (once, at start-up). Every version must
 * have both languages, each starting with a `# title` line; all problems are reported at once,
 * each naming its file relative to `dir`. Files are never edited once published: signed quotes
 * refer to them by hash, so a change is a new version folder.
 */
export function loadTerms(dir: string): TermsLibrary {
  const problems: string[] = []
  const texts = new Map<string, TermsText>()
  const versions = new Map<string, string[]>()
  const ids = subfolders(dir)
  if (ids.length === 0) problems.push(`no terms folder (<id>/<version>/en.md) in ${dir}`)
  if (ids.length > MAX_ENTRIES) problems.push(`more than ${MAX_ENTRIES} sets of terms`)
  for (const id of ids.slice(0, MAX_ENTRIES)) {
    if (!ID.test(id)) {
      problems.push(`${id}/: a terms id is lower-case letters, digits, - and _`)
      continue
    }
    const found: string[] = []
    const folderVersions = subfolders(join(dir, id))
    if (folderVersions.length === 0) problems.push(`${id}/: no version folder`)
    for (const version of folderVersions.slice(0, MAX_ENTRIES)) {
      if (!VERSION.test(version)) {
        problems.push(`${id}/${version}/: a version is dotted numbers (1.0, 2.1)`)
        continue
      }
      let complete = true
      for (const lang of LANGS) {
        const file = `${id}/${version}/${lang}.md`
        const read = readTermsFile(join(dir, file), file, problems)
        if (read === undefined) {
          complete = false
          continue
        }
        const { text, bytes } = read
        const title = /^# (.+)$/.exec(text.split(/\r?\n/, 1)[0] ?? '')?.[1]?.trim()
        if (!title) {
          problems.push(`${file}: the first line must be the title, "# <title>"`)
          complete = false
          continue
        }
        texts.set(`${id}@${version}@${lang}`, { id, version, lang, title, text, sha256: sha256Hex(bytes) })
      }
      if (complete) found.push(version)
    }
    versions.set(id, found.sort(compareVersions))
  }
  if (problems.length > 0) throw new TermsError(problems)

  const text = (ref: { id: string; version: string }, lang: Lang): TermsText => {
    const found = texts.get(`${ref.id}@${ref.version}@${lang}`)
    if (!found) throw new Error(`no terms ${ref.id} version ${ref.version} in ${lang}`)
    return found
  }
  return {
    latest(id) {
      const version = versions.get(id)?.at(-1)
      if (version === undefined) throw new Error(`unknown terms id ${JSON.stringify(id)}; the library has ${[...versions.keys()].join(', ')}`)
      return { id, version, sha256: { en: text({ id, version }, 'en').sha256, fr: text({ id, version }, 'fr').sha256 } }
    },
    text,
    ids: () => [...versions.keys()],
  }
}

function readTermsFile(path: string, file: string, problems: string[]): { text: string; bytes: Buffer } | undefined {
  let bytes: Buffer
  try {
    if (statSync(path).size > MAX_FILE_BYTES) {
      problems.push(`${file}: larger than ${MAX_FILE_BYTES} bytes`)
      return undefined
    }
    bytes = readFileSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    problems.push(code === 'ENOENT' ? `${file}: missing (every version needs ${LANGS.map((l) => `${l}.md`).join(' and ')})` : `${file}: ${code ?? error}`)
    return undefined
  }
  // The hash is of the bytes as committed, so the text must be exactly those bytes: valid UTF-8, no byte-order mark.
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    problems.push(`${file}: not valid UTF-8`)
    return undefined
  }
  if (text.startsWith('\uFEFF')) {
    problems.push(`${file}: starts with a byte-order mark; save it as UTF-8 without BOM`)
    return undefined
  }
  return { text, bytes }
}
