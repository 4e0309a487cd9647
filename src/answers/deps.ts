// Builds the answer pipeline's dependencies from the app's (the Crisp worker uses this too).
import type { AppDeps } from '../app.ts';
import { searchKnowledge } from '../knowledge/search.ts';
import type { AnswerDeps } from './answer.ts';

export function answerDeps(deps: AppDeps): AnswerDeps {
  return {
    db: deps.db,
    config: deps.config,
    log: deps.log.child({ component: 'answers' }),
    llm: deps.llm,
    metrics: deps.metrics,
    retrieve: (query, signal) =>
      searchKnowledge(
        deps.knowledge,
        {
          chatbotId: query.chatbotId,
          query: query.query,
          lexicalQuery: query.lexicalQuery,
          limit: query.limit,
          explain: true,
        },
        signal,
      ),
  };
}
