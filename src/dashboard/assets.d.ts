// The dashboard's files, imported `with { type: 'file' }`: each import is the file's path (inside
// the binary: /$bunfs/…), served by src/dashboard/index.ts. The browser code is checked by its own
// tsconfig (src/dashboard/client/tsconfig.json), not as modules of the server.
declare module '*/client/dashboard.css' {
  const path: string;
  export default path;
}
declare module '*/client/app.js' {
  const path: string;
  export default path;
}
declare module '*/client/api.js' {
  const path: string;
  export default path;
}
declare module '*/client/dom.js' {
  const path: string;
  export default path;
}
declare module '*/client/charts.js' {
  const path: string;
  export default path;
}
declare module '*/client/board.js' {
  const path: string;
  export default path;
}
declare module '*/client/conversations.js' {
  const path: string;
  export default path;
}
declare module '*/client/gaps.js' {
  const path: string;
  export default path;
}
declare module '*/client/panels.js' {
  const path: string;
  export default path;
}
declare module 'uplot/dist/uPlot.iife.min.js' {
  const path: string;
  export default path;
}
declare module 'uplot/dist/uPlot.min.css' {
  const path: string;
  export default path;
}
