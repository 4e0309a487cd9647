// Process entry. Native environment first (LanceDB reads it when its module loads), then the CLI.

import { prepareNativeEnv } from './native-env.ts';
import { prepareNativeModules } from './native-modules.ts';

prepareNativeEnv();
const argv = process.argv.slice(2);
// The binary unpacks LanceDB's module on first use; --version, --help and the extractor process
// (src/sources/reader-process.ts) load none.
if (!/^(-v|--version|version|-h|--help|help|__extract)$/.test(argv[0] ?? '')) {
  await prepareNativeModules();
}
const { main } = await import('./cli.ts');
process.exitCode = await main(argv);
