import t from 'tap'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../../src/cli/main.js'

const ROOT = new URL('../../', import.meta.url).pathname

/** Runs the CLI, capturing what it writes. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = []
  const err: string[] = []
  const stdoutWrite = process.stdout.write
  const stderrWrite = process.stderr.write
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write
  try {
    const code = await runCli(argv)
    return { code, stdout: out.join(''), stderr: err.join('') }
  } finally {
    process.stdout.write = stdoutWrite
    process.stderr.write = stderrWrite
  }
}

t.test('qtc rules validate|check|test|explain name the file and path of a number that overflows, never a stack', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qtc-cli-rules-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await cp(join(ROOT, 'rules'), join(dir, 'rules'), { recursive: true })
  await cp(join(ROOT, 'price-books'), join(dir, 'price-books'), { recursive: true })
  const book = join(dir, 'price-books', 'eur-list.yaml')
  await writeFile(book, (await readFile(book, 'utf8')).replace('cost: "780.00"', 'cost: .inf'))
  const cart = join(dir, 'cart.yaml')
  await writeFile(cart, 'currency: EUR\ndate: 2026-12-01\naccount: { id: acc_1, segment: smb, country: FR }\nlines: [ { sku: GW-200, quantity: 1 } ]\n')

  const expected = 'eur-list.yaml /entries/14/cost: must be a finite number, not Infinity (.inf, or too large, like 1e400)\n1 error(s)\n'
  for (const argv of [['validate'], ['check'], ['test'], ['explain', '--cart', cart]]) {
    const result = await cli(['rules', ...argv, join(dir, 'rules')])
    t.same(result, { code: 1, stdout: expected, stderr: '' }, `qtc rules ${argv[0]}`)
  }
  const json = await cli(['rules', 'check', join(dir, 'rules'), '--json'])
  t.same(JSON.parse(json.stdout), {
    ok: false,
    errors: [{ file: 'eur-list.yaml', path: '/entries/14/cost', message: 'must be a finite number, not Infinity (.inf, or too large, like 1e400)' }],
  })
})

t.test('qtc rules check names a folder it cannot read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qtc-cli-rules-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const missing = join(dir, 'no-rules')
  const result = await cli(['rules', 'check', missing, '--price-books', join(ROOT, 'price-books')])
  t.equal(result.code, 1)
  t.equal(result.stderr, '')
  t.equal(result.stdout, `. /: cannot read the folder ${missing}: ENOENT: no such file or directory, scandir '${missing}'\n1 error(s)\n`)
})

t.test('qtc rules explain names a cart file it cannot read or parse', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qtc-cli-rules-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const cart = join(dir, 'cart.yaml')
  await writeFile(cart, 'lines: [ { sku: GW-200\n')
  const broken = await cli(['rules', 'explain', join(ROOT, 'rules'), '--cart', cart])
  t.equal(broken.code, 1)
  t.match(broken.stdout, new RegExp(`^${cart}: not valid YAML/JSON \\(line \\d+\\): `))
  const absent = await cli(['rules', 'explain', join(ROOT, 'rules'), '--cart', join(dir, 'none.yaml')])
  t.equal(absent.code, 1)
  t.match(absent.stdout, new RegExp(`^${join(dir, 'none.yaml')}: cannot read the file: ENOENT`))
})
