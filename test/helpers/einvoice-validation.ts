import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { promisify } from 'node:util'
import SaxonJS from 'saxon-js'
import { validateXML } from 'xmllint-wasm'

/**
 * The two checks an EN 16931 CII invoice must pass, with the official artefacts shipped under
 * test/fixtures (see its README): the UN/CEFACT CII D16B schema (xmllint, compiled to
 * WebAssembly), then the CEN business rules (BR-*, BR-CO-*, BR-S/AE/IC/G/O-*, code lists) as
 * the European Commission's Schematron compiled to XSLT 2.0, run by SaxonJS.
 */

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname
const SCHEMA_DIR = join(FIXTURES, 'cii-d16b')
const MAIN_SCHEMA = 'CrossIndustryInvoice_100pD16B.xsd'
const XSLT = join(FIXTURES, 'en16931', 'EN16931-CII-validation.xslt')

/** The schema errors of a CII document (none: valid). */
export async function ciiSchemaErrors(xml: string): Promise<string[]> {
  const file = (name: string) => ({ fileName: name, contents: readFileSync(join(SCHEMA_DIR, name), 'utf8') })
  const result = await validateXML({
    xml: [{ fileName: 'invoice.xml', contents: xml }],
    schema: [file(MAIN_SCHEMA)],
    preload: readdirSync(SCHEMA_DIR)
      .filter((name) => name.endsWith('.xsd') && name !== MAIN_SCHEMA)
      .map(file),
  })
  return result.errors.map((e) => e.rawMessage)
}

/**
 * The stylesheet compiled for SaxonJS (SEF), made once per version of the XSLT (about 20 s)
 * and kept under node_modules/.cache. `npm test` makes it before the suite starts (pretest:
 * test/helpers/prepare.ts), when nothing else competes for the CPU; a test file run alone makes
 * it if missing. Concurrent makers each write their own temporary file and rename it into
 * place, so none reads a half-written one.
 */
export async function compiledStylesheet(): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(XSLT)).digest('hex').slice(0, 16)
  const dir = new URL('../../node_modules/.cache/qtc-en16931/', import.meta.url).pathname
  const sef = join(dir, `${hash}.sef.json`)
  if (existsSync(sef)) return sef
  mkdirSync(dir, { recursive: true })
  const partial = `${sef}.${process.pid}.tmp.json`
  const xslt3 = createRequire(import.meta.url).resolve('xslt3/xslt3.js')
  await promisify(execFile)(process.execPath, [xslt3, `-xsl:${XSLT}`, `-export:${partial}`, '-nogo', '-relocate:on'], { maxBuffer: 16 * 1024 * 1024 })
  renameSync(partial, sef)
  return sef
}

export interface RuleFailure {
  id: string
  flag: string
  location: string
  text: string
}

/** The compiled stylesheet, read and parsed once per process (megabytes of JSON: seconds each time otherwise). */
let stylesheet: Promise<unknown> | undefined
const loadedStylesheet = () => {
  stylesheet ??= compiledStylesheet().then((location) => JSON.parse(readFileSync(location, 'utf8')))
  return stylesheet
}

/** The EN 16931 rules the document breaks, fatal and warnings alike (each with its flag). */
export async function en16931Failures(xml: string): Promise<RuleFailure[]> {
  const result = await SaxonJS.transform({ stylesheetInternal: await loadedStylesheet(), sourceText: xml, destination: 'serialized' }, 'async')
  const svrl = String(result.principalResult)
  const failures: RuleFailure[] = []
  for (const m of svrl.matchAll(/<svrl:failed-assert\b([^>]*)>([\s\S]*?)<\/svrl:failed-assert>/g)) {
    const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(m[1]!)?.[1] ?? ''
    const text = /<svrl:text>([\s\S]*?)<\/svrl:text>/.exec(m[2]!)?.[1]?.trim() ?? ''
    failures.push({ id: attr('id'), flag: attr('flag'), location: attr('location'), text })
  }
  if (!svrl.includes('schematron-output')) throw new Error(`the validation produced no SVRL report: ${svrl.slice(0, 200)}`)
  return failures
}
