// Writes a minimal valid text PDF by hand (Helvetica, one text block per page), for tests.

const escapePdf = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);

/**
 * Builds a PDF whose pages hold the given lines of text (ASCII). The cross-reference table
 * carries exact byte offsets, so pdf.js reads it without falling back to repair mode. Pages hang
 * directly off the root (a flat page tree, as many writers make them), or, with `pagesPerNode`,
 * from intermediate /Pages nodes of that many pages each.
 */
export function makePdf(
  pages: string[][],
  options: { title?: string; pagesPerNode?: number } = {},
): Uint8Array<ArrayBuffer> {
  const objects: string[] = [];
  const pageIds: number[] = [];
  // Ids: 1 catalog, 2 pages, 3 font, 4 info, then a page and its content stream per page.
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>';
  objects[4] = `<< /Producer (answerdesk tests)${options.title ? ` /Title (${escapePdf(options.title)})` : ''} >>`;
  let next = 5;
  for (const lines of pages) {
    const pageId = next++;
    const contentId = next++;
    pageIds.push(pageId);
    const ops = ['BT', '/F1 12 Tf', '14 TL', '72 720 Td'];
    for (const line of lines) ops.push(`(${escapePdf(line)}) Tj T*`);
    ops.push('ET');
    const stream = ops.join('\n');
    objects[pageId] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${contentId} 0 R >>`;
    objects[contentId] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  }
  const refs = (ids: number[]) => ids.map((id) => `${id} 0 R`).join(' ');
  let rootKids = pageIds;
  const perNode = options.pagesPerNode;
  if (perNode) {
    rootKids = [];
    for (let at = 0; at < pageIds.length; at += perNode) {
      const nodeId = next++;
      const kids = pageIds.slice(at, at + perNode);
      for (const kid of kids) {
        objects[kid] = (objects[kid] ?? '').replace('/Parent 2 0 R', `/Parent ${nodeId} 0 R`);
      }
      objects[nodeId] =
        `<< /Type /Pages /Parent 2 0 R /Kids [${refs(kids)}] /Count ${kids.length} >>`;
      rootKids.push(nodeId);
    }
  }
  objects[2] = `<< /Type /Pages /Kids [${refs(rootKids)}] /Count ${pageIds.length} >>`;

  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(out, 'latin1');
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) {
    out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  }
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R /Info 4 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(out, 'latin1'));
}
