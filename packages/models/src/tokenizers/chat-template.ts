import { Template } from '@huggingface/jinja';

/** One turn of a conversation, as the chat templates of Hugging Face tokenizers expect it. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content: string;
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** Append the opening of the assistant's turn, so a model continues with its answer. */
  addGenerationPrompt?: boolean;
  /** Further template variables (for minimind: `open_thinking`, `tools`). */
  variables?: Record<string, unknown>;
}

/**
 * The Jinja chat template of a `tokenizer_config.json`, rendered by `@huggingface/jinja` (the
 * engine transformers.js uses) with the variables transformers passes: `messages`,
 * `add_generation_prompt` and the special tokens by name.
 */
export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: string,
    private readonly specialTokens: Record<string, string> = {},
  ) {
    try {
      this.template = new Template(source);
    } catch (error) {
      throw new Error(`ChatTemplate: cannot parse the template: ${(error as Error).message}`);
    }
  }

  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (messages.length === 0) throw new RangeError('ChatTemplate.render: messages must not be empty');
    for (const [i, message] of messages.entries()) {
      if (typeof message.role !== 'string' || typeof message.content !== 'string') {
        throw new TypeError(`ChatTemplate.render: messages[${i}] needs a string role and content`);
      }
    }
    return this.template.render({
      ...this.specialTokens,
      ...options.variables,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    });
  }
}
