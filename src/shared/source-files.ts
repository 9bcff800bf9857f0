/** A parsed rule or price-book file: what the catalog and the rule set are both built from. */
export interface SourceFile {
  /** Path relative to the root folder, with forward slashes. */
  file: string
  content: unknown
}

/** One problem found while loading rule or price-book files: where, and what. */
export interface LoadError {
  /** File path relative to its folder (`pricing/volume.yaml`). */
  file: string
  /** Id of the rule at fault, when the problem is inside a rule. */
  ruleId?: string
  /** JSON pointer inside the file (`/rules/3/event/params/percent`). */
  path: string
  message: string
}

export function formatLoadError(e: LoadError): string {
  return `${e.file}${e.ruleId ? ` [${e.ruleId}]` : ''} ${e.path || '/'}: ${e.message}`
}
