/** The part of SaxonJS's API the EN 16931 validation uses (the package ships no type definitions). */
declare module 'saxon-js' {
  interface TransformOptions {
    /** A compiled stylesheet (SEF), its JSON parsed: parsed once, run many times. */
    stylesheetInternal: unknown
    sourceText: string
    destination: 'serialized'
  }
  const SaxonJS: { transform(options: TransformOptions, mode: 'async'): Promise<{ principalResult: unknown }> }
  export default SaxonJS
}
