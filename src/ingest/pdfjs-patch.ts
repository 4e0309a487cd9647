// A source patch of pdf.js (as bundled by unpdf) that makes page lookups O(1) in flat page trees.
//
// pdf.js finds page N by walking the page tree from the root; for the top-level node it pushes
// every kid on a stack, each time. In a flat tree (all pages as kids of the root, which many PDF
// writers produce) that is O(pages) per page and O(pages²) per document: 20,000 pages spent
// minutes in lookups alone (figures: docs/notes/ingestion.md). The patch adds a fast path: while
// the root's leading kids are known to be leaf pages, page N is simply kid N.
//
// Applied twice, by the same plugin: at run time from source (`Bun.plugin`, registered in pdf.ts
// before unpdf loads) and at build time (scripts/build.ts) for the binary.
import type { BunPlugin } from 'bun';

const FILE = /unpdf[^\\/]*[\\/]dist[\\/]pdfjs\.mjs$/;

// The start of Catalog.getPageDict(pageIndex) in unpdf 1.8.1's minified pdf.js: `L` is Ref,
// `F` is Dict there. A different unpdf fails loudly below, never silently unpatched.
const FROM = 'async getPageDict(e){let t=[this.toplevelPagesDict]';

// `__answerdeskLeafKids` counts the root's leading kids verified to be leaf pages, so kid e is
// page e whenever e <= that count and kid e is itself a leaf; otherwise (a nested tree, an odd
// kid) the original walk runs and the fast path switches itself off for this document.
const TO = [
  'async getPageDict(e){{',
  'const k=this.toplevelPagesDict.getRaw("Kids"),v=this.__answerdeskLeafKids??0;',
  'if(Array.isArray(k)&&e<=v&&k[e] instanceof L){',
  'const r=k[e],d=await(this.pageDictCache.get(r)||this.xref.fetchAsync(r));',
  'let y=d instanceof F?d.getRaw("Type"):null;if(y instanceof L)y=await this.xref.fetchAsync(y);',
  'if(d instanceof F&&(isName(y,"Page")||!d.has("Kids"))){',
  'if(e===v)this.__answerdeskLeafKids=v+1;',
  'this.pageKidsCountCache.has(r)||this.pageKidsCountCache.put(r,1);',
  'this.pageIndexCache.has(r)||this.pageIndexCache.put(r,e);',
  'return[d,r]}',
  'this.__answerdeskLeafKids=-1}}',
  'let t=[this.toplevelPagesDict]',
].join('');

export const pdfjsPagePlugin: BunPlugin = {
  name: 'answerdesk-pdfjs-pages',
  setup(build) {
    build.onLoad({ filter: FILE }, async (args) => {
      const source = await Bun.file(args.path).text();
      if (!source.includes(FROM)) {
        throw new Error(
          `answerdesk-pdfjs-pages: ${args.path} changed; update src/ingest/pdfjs-patch.ts`,
        );
      }
      return { contents: source.replace(FROM, TO), loader: 'js' };
    });
  },
};
