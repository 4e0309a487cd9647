// The ordered list of schema migrations. Append new ones; never edit one that has shipped.
import { foundation } from './001-foundation.ts';
import { jobs } from './002-jobs.ts';

export type Migration = { version: number; name: string; sql: string };

export const migrations: Migration[] = [foundation, jobs];
