"""The instruments: what GPT-2 computes, made visible, and experiments that test why it says what it says.

They use the core (model.py and below) and the core never imports them. Every one of them sees the
network through probe.py, one forward pass with its inside kept, so that what they show is what
produced the model's answer. Reading order: probe.py, then the tools (token_view, shape_trace,
top_tokens, logit_lens, attention_map), then the experiments (ablate, head_roles, attribute, patch).

Words used the same way in every tool's output:
  block L     the L-th transformer block, 0-based; "head L.H" is head H of block L.
  layer i     the residual stream entering block i: layer 0 is the embeddings' output, layer i is
              the stream after block i - 1, layer n_layer the stream after the last block.
"""
