import { describe, expect, it } from 'bun:test';
import { asksForHuman } from '../../src/answers/human-request.ts';

describe('asksForHuman', () => {
  it('should recognise an explicit request for a person', () => {
    for (const message of [
      'I want to talk to a human agent please',
      'Can I speak with someone?',
      'human',
      'Agent please!',
      'This is not working, I want to talk to a human',
      'connect me to an operator',
      'I need a real person',
    ]) {
      expect(asksForHuman(message)).toBe(true);
    }
  });

  it('should leave questions, negations and other languages to the model', () => {
    for (const message of [
      'I don’t want to talk to a human',
      'No need to talk to an agent, thanks',
      'Is your support agent available on weekends?',
      'Does a human check my order?',
      'How long do refunds take?',
      'Could a person look at my order instead?',
      'What does the operator manual say?',
      'Je veux parler à un humain',
    ]) {
      expect(asksForHuman(message)).toBe(false);
    }
  });
});
