/**
 * The module boundaries of docs/architecture.md, checked in CI (`npm run depcheck`). A module
 * is a folder under src/ (quotes, approvals, evaluation…); its repository is its own.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'Imports go one way: a cycle (file to file) means two modules know each other.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'routes-never-see-sql',
      severity: 'error',
      comment: 'A route calls services; only repositories hold SQL.',
      from: { path: '\\.routes\\.ts$' },
      to: { path: '\\.repository\\.ts$' },
    },
    {
      name: 'no-other-module-repository',
      severity: 'error',
      comment: "A module uses another module through its service, never its repository.",
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/[^/]+\\.repository\\.ts$', pathNot: '^src/$1/' },
    },
    {
      name: 'evaluation-is-pure',
      severity: 'error',
      comment: 'Evaluating a cart touches no database: replay, backtests, the CLI and benchmarks depend on it.',
      // Every file of evaluation but the ones that store decisions and serve them over HTTP.
      from: { path: '^src/evaluation/', pathNot: '^src/evaluation/(evaluation\\.service|evaluation\\.routes|decision\\.repository)\\.ts$' },
      to: { path: '^(src/db/|src/.*\\.repository\\.ts$|node_modules/(kysely|pg|@electric-sql)/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
  },
}
