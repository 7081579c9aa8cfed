import { gitEnv } from '../../src/agents/gitCommand';

describe('gitEnv', () => {
  it('should pass git only what locates the user config: no credential, no repository pointer', () => {
    const env = gitEnv({
      PATH: '/usr/bin',
      HOME: '/home/me',
      XDG_CONFIG_HOME: '/home/me/.config',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_DIR: '/home/me/other/.git',
      GIT_INDEX_FILE: '/tmp/index',
      ANTHROPIC_API_KEY: 'sk-ant-api03-gitEnvTestKey',
      OPENAI_API_KEY: 'sk-proj-gitEnvTestKey',
      CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-gitEnvTestToken',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/me',
      XDG_CONFIG_HOME: '/home/me/.config',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      LC_ALL: 'C',
    });
  });
});
