// Build-time only (scripts/build.ts; never imported by the app): makes transformers.js and
// onnxruntime-node bundle into `bun build --compile`. Both load their native code through dynamic
// `require`s the bundler cannot follow, which fail at run time in /$bunfs ("Cannot find package
// 'onnxruntime-node'"). We rewrite those two call sites into static ones so the addon is embedded.
import { resolve } from 'node:path';
import type { BunPlugin } from 'bun';

/** The build machine's platform directory inside onnxruntime-node (the binary targets it). */
const platformDir = `${process.platform}/${process.arch}`;

type Patch = { file: RegExp; from: string; to: string };

const PATCHES: Patch[] = [
  {
    // transformers.js 4.x: `createRequire(import.meta.url)("onnxruntime-node")`.
    file: /@huggingface[\\/]transformers[\\/]dist[\\/]transformers\.node\.mjs$/,
    from: 'var onnx_node_default = requireFromHere("onnxruntime-node");',
    to: 'import __answerdeskOrtNode from "onnxruntime-node";\nvar onnx_node_default = __answerdeskOrtNode;',
  },
  {
    // onnxruntime-node: a template-literal require of the addon, by platform and arch.
    file: /onnxruntime-node[\\/]dist[\\/]binding\.js$/,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal source text we look for.
    from: 'require(`../bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`)',
    to: `require("../bin/napi-v6/${platformDir}/onnxruntime_binding.node")`,
  },
];

export const onnxBundlePlugin: BunPlugin = {
  name: 'answerdesk-onnx',
  setup(build) {
    for (const patch of PATCHES) {
      build.onLoad({ filter: patch.file }, async (args) => {
        const source = await Bun.file(args.path).text();
        // Fail the build, not the binary, when an upgrade moved the code we patch.
        if (!source.includes(patch.from)) {
          throw new Error(
            `answerdesk-onnx: ${args.path} changed; update src/embeddings/bundle-plugin.ts`,
          );
        }
        return { contents: source.replace(patch.from, patch.to), loader: 'js' };
      });
    }
    // onnx-runtime.ts embeds the linux-x64 library; other build platforms embed their own.
    build.onResolve({ filter: /libonnxruntime\.so\.1$/ }, (args) => ({
      path: resolve(args.resolveDir, args.path).replace('/linux/x64/', `/${platformDir}/`),
    }));
  },
};

/** transformers.js imports `sharp` for image pipelines only; text embeddings never call it. */
export const SHARP_STUB =
  'export default function sharp() { throw new Error("answerdesk: image input is not supported (sharp is stubbed in the binary)"); }';
