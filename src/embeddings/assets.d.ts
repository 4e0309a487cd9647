// The ONNX Runtime shared library, imported `with { type: 'file' }` (a path; see onnx-runtime.ts).
declare module '*.so.1' {
  const path: string;
  export default path;
}
