import { describe, expect, it } from 'bun:test';
import {
  DOCX_MAX_UNCOMPRESSED_BYTES,
  DOCX_MAX_XML_DEPTH,
  xmlDepth,
  zipDeclaredSize,
} from '../../src/ingest/docx.ts';
import { ExtractError } from '../../src/ingest/errors.ts';
import { detectFileType } from '../../src/ingest/file-type.ts';
import { extractFile } from '../../src/ingest/files.ts';
import { PDF_MAX_PAGES } from '../../src/ingest/pdf.ts';
import { makeDocx, makeDocxXml, makeZip } from '../helpers/docx.ts';
import { makePdf } from '../helpers/pdf.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

async function extractError(p: Promise<unknown>): Promise<ExtractError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ExtractError) return e;
    throw e;
  }
  throw new Error('expected an ExtractError');
}

const pdf = makePdf(
  [
    ['Refund policy', 'Refunds are possible within 30 days (see below).'],
    ['Second page about shipping.'],
  ],
  { title: 'Acme refunds' },
);
const docx = makeDocx([
  { heading: 1, text: 'Shipping guide' },
  { text: 'We ship to 40 countries & islands.' },
  { heading: 2, text: 'Costs' },
  { text: 'Shipping is free above 50 EUR.' },
]);

describe('detectFileType', () => {
  it('should detect each supported type by content and name', () => {
    expect(detectFileType('guide.pdf', pdf)).toBe('pdf');
    expect(detectFileType('guide.docx', docx)).toBe('docx');
    expect(detectFileType('notes.md', bytes('# Title\n\ntext'))).toBe('markdown');
    expect(detectFileType('notes.txt', bytes('plain'))).toBe('text');
    expect(detectFileType('page.html', bytes('<p>x</p>'))).toBe('html');
    expect(detectFileType('README', bytes('no extension'))).toBe('text');
    expect(detectFileType('export', bytes('<!DOCTYPE html><html></html>'))).toBe('html');
  });

  it('should trust the magic bytes over the extension', () => {
    expect(detectFileType('misnamed.txt', pdf)).toBe('pdf');
    expect(detectFileType('upload.bin', docx)).toBe('docx');
  });

  it.each([
    ['photo.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])],
    ['old.doc', new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])],
    ['archive.zip', makeZip([{ name: 'a.txt', data: 'x' }])],
    ['fake.pdf', bytes('this is not a pdf')],
    ['fake.docx', bytes('this is not a docx')],
    ['data.csv', bytes('a,b\n1,2')],
    ['blob.txt', new Uint8Array([1, 2, 3, 0, 5])],
  ])('should refuse %s as unsupported', (name, data) => {
    expect(() => detectFileType(name, data)).toThrow(ExtractError);
  });
});

describe('extractFile', () => {
  it('should extract the text and the title of a PDF', async () => {
    const out = await extractFile('pdf', pdf, 'guide.pdf');
    expect(out.title).toBe('Acme refunds');
    expect(out.text).toContain('Refunds are possible within 30 days (see below).');
    expect(out.text).toContain('\n\nSecond page about shipping.');
  });

  it('should keep Word headings as markdown headings', async () => {
    const out = await extractFile('docx', docx, 'guide.docx');
    expect(out).toEqual({
      title: 'Shipping guide',
      text: '# Shipping guide\n\nWe ship to 40 countries & islands.\n\n## Costs\n\nShipping is free above 50 EUR.',
      format: 'markdown',
    });
  });

  it('should fail on a corrupt PDF with a clear reason', async () => {
    const e = await extractError(
      extractFile('pdf', bytes('%PDF-1.7\n1 0 obj garbage\n%%EOF'), 'x.pdf'),
    );
    expect(e.kind).toBe('CORRUPT');
    expect(e.message).toStartWith('the PDF could not be read');
  });

  it('should fail on a PDF without a text layer', async () => {
    const e = await extractError(extractFile('pdf', makePdf([[]]), 'scan.pdf'));
    expect(e.kind).toBe('EMPTY');
    expect(e.message).toContain('OCR');
  });

  it('should fail on a corrupt DOCX with a clear reason', async () => {
    const broken = docx.slice(0, docx.length - 40);
    const e = await extractError(extractFile('docx', broken, 'x.docx'));
    expect(e.kind).toBe('CORRUPT');
    expect(e.message).toStartWith('the Word document could not be read');
  });

  it('should refuse a DOCX whose zip declares a huge uncompressed size', async () => {
    const bomb = makeDocx([{ text: 'small' }]);
    expect(zipDeclaredSize(bomb)).toBeLessThan(10_000);
    // Patch the first central-directory entry's uncompressed size (as a zip bomb declares it).
    const view = new DataView(bomb.buffer);
    const central = Buffer.from(bomb).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    view.setUint32(central + 24, DOCX_MAX_UNCOMPRESSED_BYTES + 1, true);
    const e = await extractError(extractFile('docx', bomb, 'bomb.docx'));
    expect(e.message).toContain('would unpack to more than');
  });

  it('should refuse a DOCX whose zip hides its entries behind a ZIP64 directory', async () => {
    const bomb = makeDocx([{ text: 'small' }]);
    // Classic end-of-central-directory record with the "see ZIP64" markers.
    const eocd = Buffer.from(bomb).lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    new DataView(bomb.buffer).setUint16(eocd + 10, 0xffff, true);
    expect(zipDeclaredSize(bomb)).toBe(Number.POSITIVE_INFINITY);
    const e = await extractError(extractFile('docx', bomb, 'bomb.docx'));
    expect(e.message).toContain('would unpack to more than');
  });

  it('should take markdown as is and name it by its first heading', async () => {
    const out = await extractFile('markdown', bytes('\uFEFF# FAQ\r\n\r\nQ and A'), 'faq.md');
    expect(out).toEqual({ title: 'FAQ', text: '# FAQ\n\nQ and A', format: 'markdown' });
  });

  it('should name plain text by its file name and read legacy latin-1', async () => {
    const out = await extractFile('text', new Uint8Array([0x63, 0x61, 0x66, 0xe9]), 'menu.txt');
    expect(out).toEqual({ title: 'menu', text: 'café', format: 'text' });
  });

  it('should extract an HTML file like a page', async () => {
    const out = await extractFile(
      'html',
      bytes(
        '<html><head><title>T</title></head><body><nav>menu</nav><main><h2>H</h2><p>body</p></main></body></html>',
      ),
      'p.html',
    );
    expect(out).toEqual({ title: 'T', text: '## H\n\nbody', format: 'markdown' });
  });

  it('should refuse an empty text file', async () => {
    expect((await extractError(extractFile('text', bytes('  \n '), 'e.txt'))).kind).toBe('EMPTY');
  });
});

describe('extractFile bounds', () => {
  const numbered = (n: number) => Array.from({ length: n }, (_, i) => [`Page number ${i + 1}.`]);

  it('should read the pages of flat and nested page trees in order', async () => {
    for (const pagesPerNode of [undefined, 3]) {
      const out = await extractFile('pdf', makePdf(numbered(8), { pagesPerNode }), 'p.pdf');
      expect(out.text.split('\n\n')).toEqual(numbered(8).map(([line]) => line!));
    }
  });

  it('should refuse a PDF of more pages than the cap, saying why (D3)', async () => {
    const e = await extractError(extractFile('pdf', makePdf(numbered(PDF_MAX_PAGES + 1)), 'x.pdf'));
    expect(e.kind).toBe('LIMIT');
    expect(e.message).toBe(
      `the PDF has ${PDF_MAX_PAGES + 1} pages; at most ${PDF_MAX_PAGES} are read (split it into parts)`,
    );
  });

  it('should refuse a DOCX nested deeper than the cap before mammoth reads it', async () => {
    const deep = 10_000;
    const inner = `${'<w:hyperlink>'.repeat(deep)}<w:r><w:t>deep</w:t></w:r>${'</w:hyperlink>'.repeat(deep)}`;
    const e = await extractError(extractFile('docx', makeDocxXml(`<w:p>${inner}</w:p>`), 'd.docx'));
    expect(e.kind).toBe('LIMIT');
    expect(e.message).toBe(
      `the Word document is nested more than ${DOCX_MAX_XML_DEPTH} levels deep; it is refused`,
    );
  });

  it('should measure XML depth past comments, CDATA, quoted ">" and self-closing tags', () => {
    const xml = (s: string) => new TextEncoder().encode(s);
    expect(
      xmlDepth(
        xml('<?xml version="1.0"?><a><b x="1>2"/><!-- <c><c> --><c><![CDATA[<d><d>]]></c></a>'),
        10,
      ),
    ).toBe(2);
    expect(xmlDepth(xml('<a>'.repeat(50)), 10)).toBe(11);
  });
});
