// `bun run cycles`: fails when src/ has an import cycle, type-only imports included (madge).
//
// madge reads TypeScript through @typescript-eslint/typescript-estree, which needs the classic
// TypeScript compiler API; the project's own `typescript` (7, native) has none. So `typescript`
// resolves here to `typescript-for-madge` (TypeScript 6, a devDependency alias), in this process only.
import Module from 'node:module';

const loader = Module as unknown as {
  _resolveFilename: (request: string, ...rest: unknown[]) => string;
};
const resolveFilename = loader._resolveFilename;
loader._resolveFilename = function (request, ...rest) {
  return resolveFilename.call(
    this,
    request === 'typescript' ? 'typescript-for-madge' : request,
    ...rest,
  );
};

const { default: madge } = await import('madge');
const graph = await madge('src', {
  fileExtensions: ['ts'],
  tsConfig: 'tsconfig.json',
  // Type-only imports are edges too: `import type` cycles still tangle the design.
  detectiveOptions: { ts: { skipTypeImports: false }, es6: { skipTypeImports: false } },
});
const cycles = graph.circular();
const skipped = graph.warnings().skipped;
for (const cycle of cycles) console.log(`cycle: ${[...cycle, cycle[0]].join(' → ')}`);
// An import madge could not resolve is an edge it did not see: that hides cycles, so it fails too.
for (const path of skipped) console.log(`unresolved import: ${path}`);
console.log(
  `${Object.keys(graph.obj()).length} files in src/, ${cycles.length} import cycles, ${skipped.length} unresolved imports`,
);
process.exitCode = cycles.length > 0 || skipped.length > 0 ? 1 : 0;
