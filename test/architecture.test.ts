import t from 'tap'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { cruise, type ICruiseResult } from 'dependency-cruiser'

/**
 * The module boundaries of docs/architecture.md: the rules of .dependency-cruiser.cjs hold on
 * src/ (CI also runs them, `npm run depcheck`), no two modules depend on each other, and each
 * rule catches a fixture that breaks it.
 */
const ROOT = new URL('../', import.meta.url).pathname
const { forbidden } = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as { forbidden: never }

async function cruiseIn(cwd: string): Promise<ICruiseResult> {
  const previous = process.cwd()
  process.chdir(cwd)
  try {
    const result = await cruise(['src'], { validate: true, ruleSet: { forbidden }, tsPreCompilationDeps: true, doNotFollow: { path: 'node_modules' } })
    return result.output as ICruiseResult
  } finally {
    process.chdir(previous)
  }
}

/** The modules (folders of src/) and which others each imports; routes, the HTTP edge of their module, left out. */
function moduleGraph(result: ICruiseResult): Map<string, Set<string>> {
  const moduleOf = (path: string) => /^src\/([^/]+)\//.exec(path)?.[1]
  const graph = new Map<string, Set<string>>()
  for (const m of result.modules) {
    const from = moduleOf(m.source)
    if (!from || m.source.endsWith('.routes.ts')) continue
    for (const d of m.dependencies) {
      const to = moduleOf(d.resolved)
      if (to && to !== from) graph.set(from, (graph.get(from) ?? new Set()).add(to))
    }
  }
  return graph
}

/** A cycle between modules, as a path a → b → … → a, or null. */
function moduleCycle(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>()
  const walk = (node: string, path: string[]): string[] | null => {
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node]
    if (state.get(node) === 'done') return null
    state.set(node, 'open')
    for (const next of graph.get(node) ?? []) {
      const found = walk(next, [...path, node])
      if (found) return found
    }
    state.set(node, 'done')
    return null
  }
  for (const node of [...graph.keys()].sort()) {
    const found = walk(node, [])
    if (found) return found
  }
  return null
}

t.test('src/ keeps the boundaries: no rule broken, no cycle between modules', async (t) => {
  const result = await cruiseIn(ROOT)
  t.same(
    result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`),
    [],
  )
  t.equal(moduleCycle(moduleGraph(result)), null, 'modules depend on each other one way only')
  t.ok(moduleGraph(result).get('quotes')?.has('approvals'), 'quotes use approvals…')
  t.notOk(moduleGraph(result).get('approvals')?.has('quotes'), '…and approvals never use quotes')
})

/** docs/architecture.md's table of modules and what each uses: the names before any parenthesis, `;` or ` — `. */
function documentedModules(): Map<string, string[]> {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8')
  const section = doc.slice(doc.indexOf('| module | uses |'))
  const rows = section.slice(0, section.indexOf('\n\n')).split('\n').slice(2)
  return new Map(
    rows.map((row) => {
      const [module = '', uses = ''] = row
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim().replaceAll('`', ''))
      const names = uses
        .split(/;| — /)[0]!
        .replace(/\([^)]*\)/g, '')
        .split(',')
        .map((n) => n.trim())
      return [module, names.filter(Boolean).sort()]
    }),
  )
}

t.test("docs/architecture.md's module table is the module graph: every module, exactly what it uses", async (t) => {
  const graph = moduleGraph(await cruiseIn(ROOT))
  const documented = documentedModules()
  t.same([...documented.keys()].filter((m) => m !== 'cli').sort(), [...graph.keys()].filter((m) => m !== 'cli').sort(), 'every module has its row')
  for (const [module, uses] of documented) {
    if (module === 'cli') continue
    t.same(uses, [...(graph.get(module) ?? [])].sort(), module)
  }
})

t.test('each rule catches what breaks it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qtc-boundaries-'))
  const files: Record<string, string> = {
    'src/a/a.routes.ts': "import { rows } from './a.repository.js'\nexport const r = rows\n",
    'src/a/a.repository.ts': 'export const rows = 1\n',
    'src/b/b.service.ts': "import { rows } from '../a/a.repository.js'\nimport { y } from './y.js'\nexport const s = rows + y\n",
    'src/b/x.ts': "import { y } from './y.js'\nexport const x = y\n",
    'src/b/y.ts': "import { x } from './x.js'\nexport const y = 1\nexport const z = () => x\n",
    'src/evaluation/evaluate.ts': "import { db } from '../db/database.js'\nexport const e = db\n",
    'src/evaluation/stages/tax.ts': "import { db } from '../../db/database.js'\nexport const t = db\n",
    'src/evaluation/evaluation.service.ts': "import { db } from '../db/database.js'\nexport const s = db\n",
    'src/db/database.ts': 'export const db = 1\n',
    'src/c/c.service.ts': "import { d } from '../d/d.service.js'\nexport const c = () => d\n",
    'src/d/d.service.ts': "import { c } from '../c/c.service.js'\nexport const d = () => c\n",
  }
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  const result = await cruiseIn(dir)
  const broken = new Set(result.summary.violations.map((v) => `${v.rule.name}: ${v.from}`))
  for (const expected of [
    'routes-never-see-sql: src/a/a.routes.ts',
    'no-other-module-repository: src/b/b.service.ts',
    'no-cycle: src/b/x.ts',
    'evaluation-is-pure: src/evaluation/evaluate.ts',
    'evaluation-is-pure: src/evaluation/stages/tax.ts',
  ]) {
    t.ok(broken.has(expected), expected)
  }
  t.notOk(broken.has('evaluation-is-pure: src/evaluation/evaluation.service.ts'), 'the service that stores decisions may use the database')
  t.ok(
    moduleCycle(moduleGraph(result))
      ?.join(' → ')
      .match(/c → d → c|d → c → d/),
    'a cycle between modules is found',
  )
})
