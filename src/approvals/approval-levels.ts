import type { ApprovalStep } from './approval.repository.js'

/**
 * Opens the lowest level that is not complete (its waiting steps become pending). A level is
 * complete when all its steps are approved, or, in "any" mode, one is; the others are then
 * skipped. Returns false when every level is complete. Mutates the steps' statuses.
 */
export function openNextLevel(steps: ApprovalStep[]): boolean {
  const levels = [...new Set(steps.map((s) => s.level))].sort((a, b) => a - b)
  for (const level of levels) {
    const ofLevel = steps.filter((s) => s.level === level)
    const anyDone = ofLevel[0]!.mode === 'any' && ofLevel.some((s) => s.status === 'approved')
    if (anyDone) {
      for (const s of ofLevel) if (s.status === 'pending' || s.status === 'waiting') s.status = 'skipped'
      continue
    }
    if (ofLevel.every((s) => s.status === 'approved' || s.status === 'skipped')) continue
    for (const s of ofLevel) if (s.status === 'waiting') s.status = 'pending'
    return true
  }
  return false
}
