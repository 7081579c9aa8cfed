/**
 * One model call the way an API-driven agent makes it, with only what its env holds: Anthropic's
 * Messages API with `x-api-key`, or OpenAI's Chat Completions with a Bearer key, at the base URL
 * agentvisor handed the agent (the loopback fakes in tests).
 */
import type { ManagedAgent } from '../../src';

export async function callModel(agent: ManagedAgent): Promise<Response> {
  const env = agent.env;
  if (agent.provider === 'claude') {
    return fetch(`${env.ANTHROPIC_BASE_URL}/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': env.ANTHROPIC_API_KEY ?? '',
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'ping' }],
      }),
    });
  }
  return fetch(`${env.OPENAI_BASE_URL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${env.OPENAI_API_KEY ?? ''}` },
    body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'ping' }] }),
  });
}
