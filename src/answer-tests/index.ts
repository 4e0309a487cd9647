// Admin routes for answer tests: add (by hand or from a conversation turn), list, read, remove;
// start a run (a background job), list runs, read one with its results.
import { Elysia } from 'elysia';
import { getChatbot } from '../chatbots/service.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import {
  AnswerTest,
  CreateTestBody,
  Run,
  RunList,
  RunParams,
  RunStarted,
  TestList,
  TestParams,
} from './model.ts';
import { type AnswerTestsDeps, startRun } from './run-job.ts';
import { createTest, deleteTest, getTest, listTests } from './service.ts';
import { getRun, listRuns } from './store.ts';

const detail = (summary: string, description?: string) => ({
  tags: ['tests'],
  summary,
  ...(description ? { description } : {}),
});

/** The hooks of a read route: its params, its 200 body, 401 and 404. */
const reading = <P, R>(params: P, ok: R, summary: string) => ({
  params,
  response: { 200: ok, 401: ErrorResponse, 404: ErrorResponse },
  detail: detail(summary),
});

export function answerTestRoutes(deps: AnswerTestsDeps) {
  const { db } = deps;
  return new Elysia({ name: 'answer-tests', prefix: '/api/v1/chatbots/:chatbotId/tests' })
    .post('', ({ params, body, status }) => status(201, createTest(deps, params.chatbotId, body)), {
      params: ChatbotParams,
      body: CreateTestBody,
      response: { 201: AnswerTest, 401: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse },
      detail: detail(
        'Add an answer test (a golden question), by hand or from a visitor message',
        '`{"question","expect"}` with optional `mustCite`, `mustContain`, `mustNotContain`, `language`; or `{"fromMessageId"}`: the visitor message is the question and what the bot did is the expectation (answered → `answer` citing the same sources; handed off → `handoff`).',
      ),
    })
    .get(
      '',
      ({ params }) => ({ items: listTests(db, params.chatbotId) }),
      reading(ChatbotParams, TestList, 'List the answer tests, each with its latest result'),
    )
    .post(
      '/run',
      ({ params, status }) => {
        getChatbot(db, params.chatbotId);
        return status(202, startRun(deps, { chatbotId: params.chatbotId, trigger: 'manual' }));
      },
      {
        params: ChatbotParams,
        response: { 202: RunStarted, 401: ErrorResponse, 404: ErrorResponse },
        detail: detail(
          'Run every test through the answer pipeline in the background',
          'Nothing is posted to Crisp and no visitor quota is used; the LLM cost is reported. While a run of this chatbot is queued or running, the answer is that run.',
        ),
      },
    )
    .get(
      '/runs',
      ({ params }) => {
        getChatbot(db, params.chatbotId);
        return { items: listRuns(db, params.chatbotId) };
      },
      reading(
        ChatbotParams,
        RunList,
        'List the test runs, newest first (the latest 50 finished ones are kept)',
      ),
    )
    .get(
      '/runs/:runId',
      ({ params }) => {
        getChatbot(db, params.chatbotId);
        return getRun(db, params.chatbotId, params.runId);
      },
      reading(RunParams, Run, 'Read a test run with its results (so far, while it runs)'),
    )
    .get(
      '/:testId',
      ({ params }) => getTest(db, params.chatbotId, params.testId),
      reading(TestParams, AnswerTest, 'Read an answer test'),
    )
    .delete(
      '/:testId',
      ({ params, set }) => {
        deleteTest(db, params.chatbotId, params.testId);
        set.status = 204;
      },
      {
        params: TestParams,
        response: { 401: ErrorResponse, 404: ErrorResponse },
        detail: detail('Remove an answer test (its results in earlier runs go with it)'),
      },
    );
}
