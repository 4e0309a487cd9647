// Native modules imported `with { type: 'file' }` resolve to a path (in the binary: /$bunfs/…).
declare module '@lancedb/lancedb-linux-x64-gnu/lancedb.linux-x64-gnu.node' {
  const path: string;
  export default path;
}
