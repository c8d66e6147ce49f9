"""A tiny random-weight Llama in GGUF, written with the ``gguf`` package (llama.cpp's own writer).

Two layers, 64-wide, a byte-fallback SentencePiece vocabulary (every text tokenizes) and a chat template:
enough for llama.cpp to load it and generate, in well under a second on a CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

VOCAB_PIECES = ("<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256)), *("▁hello", "▁world", "▁the", "▁a"))
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def write_tiny_llama(
    path: Path,
    *,
    layers: int = 2,
    width: int = 64,
    heads: int = 4,
    kv_heads: int = 2,
    context: int = 512,
    seed: int = 0,
) -> Path:
    """A loadable Llama GGUF at ``path`` (float32 weights, about 0.5 MB)."""
    import gguf

    rng = np.random.default_rng(seed)
    vocab, feed_forward, head_dim = len(VOCAB_PIECES), 2 * width, width // heads

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-random-llama")
    writer.add_context_length(context)
    writer.add_embedding_length(width)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(feed_forward)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(list(VOCAB_PIECES))
    writer.add_token_scores([0.0] * vocab)
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * (vocab - 259)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_chat_template(CHAT_TEMPLATE)

    writer.add_tensor("token_embd.weight", weights(vocab, width))
    writer.add_tensor("output_norm.weight", np.ones(width, dtype=np.float32))
    writer.add_tensor("output.weight", weights(vocab, width))
    for layer in range(layers):
        block = f"blk.{layer}"
        writer.add_tensor(f"{block}.attn_norm.weight", np.ones(width, dtype=np.float32))
        writer.add_tensor(f"{block}.attn_q.weight", weights(width, width))
        writer.add_tensor(f"{block}.attn_k.weight", weights(kv_heads * head_dim, width))
        writer.add_tensor(f"{block}.attn_v.weight", weights(kv_heads * head_dim, width))
        writer.add_tensor(f"{block}.attn_output.weight", weights(width, width))
        writer.add_tensor(f"{block}.ffn_norm.weight", np.ones(width, dtype=np.float32))
        writer.add_tensor(f"{block}.ffn_gate.weight", weights(feed_forward, width))
        writer.add_tensor(f"{block}.ffn_up.weight", weights(feed_forward, width))
        writer.add_tensor(f"{block}.ffn_down.weight", weights(width, feed_forward))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
