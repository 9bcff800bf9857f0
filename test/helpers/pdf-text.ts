import { getDocument, OPS } from 'pdfjs-dist/legacy/build/pdf.mjs'

/**
 * Reading a PDF back the way a viewer does, with pdf.js, for tests: what a test asserts on is
 * what a reader would see, not what the code meant to draw.
 */

async function eachPage<T>(
  buffer: Uint8Array,
  read: (page: Awaited<ReturnType<Awaited<ReturnType<typeof getDocument>['promise']>['getPage']>>) => Promise<T>,
): Promise<T[]> {
  // pdf.js may detach the buffer it is given: hand it a copy.
  const doc = await getDocument({ data: new Uint8Array(buffer), useSystemFonts: false, isEvalSupported: false, verbosity: 0 }).promise
  try {
    const pages: T[] = []
    for (let n = 1; n <= doc.numPages; n++) pages.push(await read(await doc.getPage(n)))
    return pages
  } finally {
    await doc.destroy()
  }
}

/**
 * The text of each page as pdf.js's text layer gives it (copy and paste, search): one string
 * per page, items joined with a space. pdf.js turns every whitespace character into a plain
 * space here, U+202F and U+00A0 included: use `pdfGlyphText` to check those.
 */
export function pdfText(buffer: Uint8Array): Promise<string[]> {
  return eachPage(buffer, async (page) => {
    const content = await page.getTextContent()
    return content.items
      .map((item) => ('str' in item ? item.str : ''))
      .join(' ')
      .replace(/ {2,}/g, ' ')
  })
}

/**
 * The characters each page draws, exactly (from the fonts' Unicode maps, whitespace kept): one
 * string per page, each text-showing operation joined with a space, in drawing order.
 */
export function pdfGlyphText(buffer: Uint8Array): Promise<string[]> {
  return eachPage(buffer, async (page) => {
    const ops = await page.getOperatorList()
    const runs: string[] = []
    ops.fnArray.forEach((fn, i) => {
      if (fn !== OPS.showText) return
      const glyphs = (ops.argsArray[i] as unknown[][])[0] ?? []
      runs.push(glyphs.map((g) => (typeof g === 'object' && g !== null && 'unicode' in g ? String(g.unicode) : '')).join(''))
    })
    return runs.join(' ').replace(/ {2,}/g, ' ')
  })
}

/** What a PDF embeds (its attachments by file name) and its XMP metadata, as pdf.js reads them. */
export async function pdfEmbedded(buffer: Uint8Array): Promise<{ files: Record<string, Buffer>; xmp: string | null }> {
  const doc = await getDocument({ data: new Uint8Array(buffer), useSystemFonts: false, isEvalSupported: false, verbosity: 0 }).promise
  try {
    const attachments = ((await doc.getAttachments()) ?? {}) as Record<string, { filename: string; content: Uint8Array }>
    const files = Object.fromEntries(Object.values(attachments).map((a) => [a.filename, Buffer.from(a.content)]))
    const { metadata } = await doc.getMetadata()
    return { files, xmp: metadata ? (metadata as unknown as { getRaw(): string }).getRaw() : null }
  } finally {
    await doc.destroy()
  }
}
