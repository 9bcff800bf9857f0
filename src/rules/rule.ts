import type { RuleDefinition, RuleSetName } from './rule-file.schema.js'

/** A validated rule with where it came from. */
export type LoadedRule = RuleDefinition & {
  set: RuleSetName
  /** File relative to the rules folder, e.g. `pricing/volume.yaml`. */
  file: string
  /** JSON pointer of the rule inside its file, e.g. `/rules/2`. */
  pointer: string
}
