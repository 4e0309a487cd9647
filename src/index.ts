// Process entry. Native environment first (LanceDB reads it when its module loads), then the CLI.
import { prepareNativeEnv } from './native-env.ts';

prepareNativeEnv();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
