// Test preload: the native environment LanceDB needs, set before any test imports it.
import { prepareNativeEnv } from '../src/native-env.ts';

prepareNativeEnv();
