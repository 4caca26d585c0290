/** What the WordPiece decoder's cleanup (applied per token) and transformers' clean_up_tokenization replace. */
const CLEANUP: ReadonlyArray<[string, string]> = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [' do not', " don't"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

function cleanup(text: string, rules: ReadonlyArray<[string, string]>): string {
  for (const [from, to] of rules) text = text.replaceAll(from, to);
  return text;
}

/**
 * Joins WordPiece tokens as the fast tokenizer's WordPiece decoder: a `prefix` piece glues to the
 * previous token, any other token gets a leading space, and each token is then cleaned up (so
 * "hello" "!" -> "hello!"). CJK characters are separate words, so "你 好" keeps its spaces, as in
 * transformers. `cleanUpTokenizationSpaces` also applies transformers' string-level clean-up.
 */
export function decodeWordPieces(tokens: readonly string[], prefix = '##', cleanUpTokenizationSpaces = false): string {
  const text = tokens
    .map((token, i) => {
      let out = token;
      if (i > 0) out = out.startsWith(prefix) ? out.slice(prefix.length) : ` ${out}`;
      return cleanup(out, CLEANUP);
    })
    .join('');
  // transformers' clean_up_tokenization has the same rules except " do not".
  return cleanUpTokenizationSpaces ? cleanup(text, CLEANUP.filter(([from]) => from !== ' do not')) : text;
}
