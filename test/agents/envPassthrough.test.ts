import { createOrchestrator, isAgentvisorError } from '../../src';

const CLAUDE_KEY = 'sk-ant-api03-passthrough-test-key-0001';
const OPENAI_KEY = 'sk-proj-passthrough-test-key-0002';

describe('envPassthrough', () => {
  it('should pass only the listed host variables through, under the session variables', async () => {
    const env = {
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      SECRET_TOKEN: 'do-not-leak',
      DISABLE_TELEMETRY: '0',
    };
    const orch = createOrchestrator({
      env,
      envPassthrough: ['PATH', 'LANG', 'MISSING', 'DISABLE_TELEMETRY'],
      credentialSources: ['env'],
      providerPriority: 'prefer-claude',
    });
    await orch.start();
    const agent = await orch.spawnAgent({ estimatedTokens: 1000 });
    expect(agent.env.PATH).toBe('/usr/bin');
    expect(agent.env.LANG).toBe('C.UTF-8');
    expect(agent.env).not.toHaveProperty('MISSING');
    expect(agent.env).not.toHaveProperty('SECRET_TOKEN');
    // agentvisor's own variables win over a passed-through value.
    expect(agent.env.DISABLE_TELEMETRY).toBe('1');
    expect(Object.values(agent.env)).not.toContain(OPENAI_KEY);
    await orch.stop();
  });

  it('should pass nothing from the host env by default', async () => {
    const orch = createOrchestrator({
      env: { ANTHROPIC_API_KEY: CLAUDE_KEY, PATH: '/usr/bin', HOME: '/home/x' },
      credentialSources: ['env'],
    });
    await orch.start();
    const agent = await orch.spawnAgent({ estimatedTokens: 1000 });
    expect(agent.env).not.toHaveProperty('PATH');
    expect(agent.env).not.toHaveProperty('HOME');
    await orch.stop();
  });

  it('should refuse to pass credential variables through', () => {
    let caught: unknown;
    try {
      createOrchestrator({ env: {}, envPassthrough: ['PATH', 'OPENAI_API_KEY'] });
    } catch (error) {
      caught = error;
    }
    expect(isAgentvisorError(caught, 'invalid-option')).toBe(true);
    expect((caught as Error).message).toContain('OPENAI_API_KEY');
    // The ChatGPT tokens a session on a ChatGPT login gets (set in the host when agentvisor runs inside one).
    for (const name of ['AGENTVISOR_CHATGPT_ACCESS_TOKEN', 'AGENTVISOR_CHATGPT_ID_TOKEN']) {
      expect(() => createOrchestrator({ env: {}, envPassthrough: ['PATH', name] })).toThrow(
        new RegExp(`cannot pass credential variables \\(${name}\\)`),
      );
    }
    expect(() => createOrchestrator({ env: {}, envPassthrough: ['not a name'] })).toThrow(
      /envPassthrough\[0\] must be a variable name such as PATH/,
    );
  });
});
