// Native modules embedded in the binary as plain files (imported only by the compiled binary).
// Bun would otherwise embed LanceDB's module itself and re-read all 200 MB of it at every start.
import lancedbNode from '@lancedb/lancedb-linux-x64-gnu/lancedb.linux-x64-gnu.node' with {
  type: 'file',
};

export { lancedbNode };
