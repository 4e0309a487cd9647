// Command line: `answerdesk [serve]`, `--version`, `--help`, and the feature commands.
import { type Config, ConfigError } from './config.ts';
import type { Logger } from './logging.ts';
import { VERSION } from './version.ts';

export type Command = {
  summary: string;
  usage: string;
  run: (args: string[]) => Promise<number>;
};

/** The process's dependencies for a command that opens storage (src/deps.ts, loaded on use). */
async function openDeps(config: Config, log: Logger) {
  const { buildDeps } = await import('./deps.ts');
  return buildDeps(config, log);
}

const commands: Record<string, Command> = {
  serve: {
    summary: 'Start the HTTP service (the default command)',
    usage: 'answerdesk [serve]',
    run: async () => {
      const { serve } = await import('./server.ts');
      return serve();
    },
  },
  ingest: {
    summary: 'Add a file, a directory of files, a URL or a sitemap to a chatbot',
    usage: 'answerdesk ingest <chatbotId> <path|url> [--sitemap] [--max-pages N]',
    run: async (args) => {
      const { runIngestCommand } = await import('./sources/cli.ts');
      return runIngestCommand(args, openDeps);
    },
  },
  models: {
    summary: 'Download a pinned embedding model, list installed ones, or check one loads',
    usage: 'answerdesk models pull [name] [--base-url URL] [--force] | list | check [name]',
    run: async (args) => {
      const { runModelsCommand } = await import('./models/command.ts');
      return runModelsCommand(args);
    },
  },
  eval: {
    summary: 'Score retrieval on a labelled set (nDCG@10, Recall@10/100, MRR@10)',
    usage: 'answerdesk eval <dataset-dir> [--run FILE] [--limit 100]',
    run: async (args) => {
      const { runEval } = await import('./knowledge/eval.ts');
      const { addTextSources } = await import('./sources/bulk.ts');
      return runEval(args, openDeps, addTextSources);
    },
  },
  reembed: {
    summary: 'Rebuild the chunk index with the configured embedder',
    usage: 'answerdesk reembed [--force]',
    run: async (args) => {
      const { runReembed } = await import('./knowledge/reembed-command.ts');
      return runReembed(args, openDeps);
    },
  },
};

function help(): string {
  const lines = [
    `answerdesk ${VERSION}: a self-hosted AI agent for the Crisp live chat`,
    '',
    'Usage:',
    ...Object.values(commands).map((c) => `  ${c.usage.padEnd(44)} ${c.summary}`),
    `  ${'answerdesk --version'.padEnd(44)} Print the version`,
    `  ${'answerdesk --help'.padEnd(44)} Print this help`,
    '',
    'Configuration comes from environment variables (see .env.example and the README);',
    'state lives in DATA_DIR (default ./data, or beside the binary when ./data is absent).',
  ];
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // The data directory holds visitors' conversations and sealed credentials: everything we
  // create (SQLite, LanceDB, uploads, models) is readable by this user only.
  process.umask(0o077);
  const [first = 'serve', ...rest] = argv;
  // Hidden: the extractor process the service starts itself (src/ingest/extractor.ts).
  if (first === '__extract') {
    const { runSourceReader } = await import('./sources/reader-process.ts');
    return runSourceReader();
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    console.log(VERSION);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log(help());
    return 0;
  }
  const command = commands[first];
  if (!command) {
    console.error(`answerdesk: unknown command "${first}"\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`answerdesk: bad configuration: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
