/**
 * The little Markdown terms files use, as blocks to print: headings, paragraphs and list
 * items. Anything else is printed as the text it is, so a file never loses words on paper.
 */
export type Block = { kind: 'heading'; level: number; text: string } | { kind: 'paragraph'; text: string } | { kind: 'item'; text: string }

export function markdownBlocks(markdown: string): Block[] {
  const blocks: Block[] = []
  let paragraph: string[] = []
  let item: string[] | null = null
  const flush = () => {
    if (paragraph.length > 0) blocks.push({ kind: 'paragraph', text: paragraph.join(' ') })
    if (item) blocks.push({ kind: 'item', text: item.join(' ') })
    paragraph = []
    item = null
  }
  for (const raw of markdown.split(/\r?\n/)) {
    const line = raw.trim()
    const heading = /^(#{1,6})\s+(.*)$/.exec(line)
    const bullet = /^(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line)
    if (line === '') flush()
    else if (heading) {
      flush()
      blocks.push({ kind: 'heading', level: heading[1]!.length, text: heading[2]!.trim() })
    } else if (bullet) {
      flush()
      item = [bullet[1]!]
    } else if (item) item.push(line)
    else paragraph.push(line)
  }
  flush()
  return blocks
}
