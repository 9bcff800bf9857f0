import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { compareVersions, loadTerms, TermsError } from '../../src/documents/terms.js'
import { demoRuleSet, ROOT } from '../helpers/documents.js'

t.test('the shipped terms load: standard and partner 1.0 in both languages', async (t) => {
  const terms = loadTerms(`${ROOT}terms`)
  t.same(terms.ids(), ['partner', 'standard'])
  const ref = terms.latest('standard')
  t.equal(ref.version, '1.0')
  const file = readFileSync(`${ROOT}terms/standard/1.0/fr.md`)
  t.equal(ref.sha256.fr, createHash('sha256').update(file).digest('hex'), 'hash of the file bytes')
  const fr = terms.text(ref, 'fr')
  t.equal(fr.title, 'Conditions générales de vente — Services par abonnement')
  t.ok(fr.text.includes('40\u202f€'), 'French typography: 40 €')
  t.ok(fr.text.includes('«\u202fVendeur\u202f»'))
  t.match(terms.text(ref, 'en').text, 'three (3) times the French legal interest rate')
  t.throws(() => terms.latest('gold'), /unknown terms id "gold"/)
  t.throws(() => terms.text({ id: 'standard', version: '9.9' }, 'en'), /no terms standard version 9.9 in en/)
})

t.test('every price book names terms the library has; the partner book the partner terms', async (t) => {
  const terms = loadTerms(`${ROOT}terms`)
  const books = (await demoRuleSet()).priceBooks.books
  t.same(
    books.map((b) => `${b.id}:${b.terms}`),
    ['eur-list:standard', 'eur-partner:partner', 'usd-list:standard'],
  )
  for (const book of books) t.doesNotThrow(() => terms.latest(book.terms), book.id)
})

t.test('the loader names the file at fault, and takes the highest version', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qtc-terms-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const write = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  write('basic/1.0/en.md', '# Basic\n\nText.\n')
  write('basic/1.0/fr.md', '# Basique\n\nTexte.\n')
  write('basic/1.10/en.md', '# Basic\n')
  write('basic/1.10/fr.md', '# Basique\n')
  write('basic/1.9/en.md', '# Basic\n')
  write('basic/1.9/fr.md', '# Basique\n')
  t.equal(loadTerms(dir).latest('basic').version, '1.10', '1.10 comes after 1.9')

  write('other/2.0/en.md', '# Other\n')
  const error = t.throws(() => loadTerms(dir)) as TermsError
  t.ok(error instanceof TermsError)
  t.match(error.message, 'other/2.0/fr.md: missing (every version needs en.md and fr.md)')
  write('other/2.0/fr.md', 'Pas de titre\n')
  t.throws(() => loadTerms(dir), /other\/2\.0\/fr\.md: the first line must be the title/)
  write('other/2.0/fr.md', '\uFEFF# Autre\n')
  t.throws(() => loadTerms(dir), /other\/2\.0\/fr\.md: starts with a byte-order mark/)
  writeFileSync(join(dir, 'other/2.0/fr.md'), Buffer.from([0x23, 0x20, 0xc3, 0x28]))
  t.throws(() => loadTerms(dir), /other\/2\.0\/fr\.md: not valid UTF-8/)
  write('other/2.0/fr.md', '# Autre\n')
  mkdirSync(join(dir, 'other', 'draft'))
  t.throws(() => loadTerms(dir), /other\/draft\/: a version is dotted numbers/)
})

t.test('versions compare as numbers', async (t) => {
  t.ok(compareVersions('1.10', '1.9') > 0)
  t.ok(compareVersions('2.0', '10.0') < 0)
  t.equal(compareVersions('1.0', '1'), 0)
})
