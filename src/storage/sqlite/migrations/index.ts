// The ordered list of schema migrations. Append new ones; never edit one that has shipped.
import { foundation } from './001-foundation.ts';
import { jobs } from './002-jobs.ts';
import { knowledge } from './003-knowledge.ts';
import { conversations } from './004-conversations.ts';
import { crisp } from './005-crisp.ts';
import { quotas } from './006-quotas.ts';
import { storageProbe } from './007-storage-probe.ts';
import { replyTurn } from './008-reply-turn.ts';
import { crispReal } from './009-crisp-real.ts';
import { insights } from './010-insights.ts';
import { answerTests } from './011-answer-tests.ts';
import { knowledgeAnalysis } from './012-knowledge-analysis.ts';
import type { Migration } from './migration.ts';

export const migrations: Migration[] = [
  foundation,
  jobs,
  knowledge,
  conversations,
  crisp,
  quotas,
  storageProbe,
  replyTurn,
  crispReal,
  insights,
  answerTests,
  knowledgeAnalysis,
];
