/**
 * Run by npm before the suite (the pretest script): slow one-off work that test files would
 * otherwise each start at once, competing for the CPU with the rest of the suite.
 */
import { compiledStylesheet } from './einvoice-validation.js'

await compiledStylesheet()
