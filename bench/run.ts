/**
 * `npm run bench`: runs every benchmark in one process and writes the figures into
 * docs/benchmarks.md between the BEGIN/END markers (the prose around them is kept).
 */
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { benchEvaluate } from './evaluate.js'

const DOC = new URL('../docs/benchmarks.md', import.meta.url)

const table = await benchEvaluate()
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`
const block = `<!-- BEGIN bench:evaluate -->\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machine}.\n\n${table}\n<!-- END bench:evaluate -->`
const doc = await readFile(DOC, 'utf8').catch(() => '# Benchmarks\n\n<!-- BEGIN bench:evaluate -->\n<!-- END bench:evaluate -->\n')
await writeFile(DOC, doc.replace(/<!-- BEGIN bench:evaluate -->[\s\S]*<!-- END bench:evaluate -->/, block))
process.stdout.write(`${table}\n\nwritten to docs/benchmarks.md\n`)
