/**
 * Fixed prompts: openings of the kind of sentence the bundled Chinese Wikipedia corpus holds. The
 * demo continues them after training, and `pretrain` samples them during training by default.
 */
export const DEMO_PROMPTS: readonly string[] = ['北京是', '中国的', '长江', '他出生于', '这座城市', '历史上', '该公司', '科学家'];
