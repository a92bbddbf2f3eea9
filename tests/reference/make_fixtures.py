"""Make the tiny GPT-2 checkpoint and the reference values the tests compare against.

The suite never imports torch or transformers; this script is the only place they are used. It
writes, in tests/fixtures/:
  tiny-gpt2/config.json, tiny-gpt2/model.safetensors  a 3-block GPT-2 with random weights, in the
      hub's layout (no "transformer." prefix, a causal-mask buffer h.{i}.attn.bias in every block).
      Its vocabulary is GPT-2's (50257), so the real tokenizer beside it (vocab.json, merges.txt,
      copied from OpenAI's GPT-2) works with it.
  tiny-gpt2-reference.npz  what Hugging Face transformers computes with that checkpoint: the logits
      at every position for two prompts, the residual stream after the embeddings and after each
      block, and 20 greedy ids; and PyTorch's own layer norm, tanh GELU and softmax on test inputs.

Run it from the project folder, in an environment with torch and transformers:
    python -m venv /tmp/ref && /tmp/ref/bin/pip install torch transformers tokenizers safetensors
    /tmp/ref/bin/python tests/reference/make_fixtures.py
The output is deterministic for a given torch version (the seed is fixed); the versions used are
stored in the npz.
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/: the fixtures and the helpers
FOLDER = os.path.join(HERE, "fixtures", "tiny-gpt2")
REFERENCE = os.path.join(HERE, "fixtures", "tiny-gpt2-reference.npz")
FIXTURE_VERSION = 1

CONFIG = {  # the fields of the hub's gpt2 config.json, with small sizes
    "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
    "n_layer": 3, "n_head": 4, "n_embd": 16, "n_ctx": 64, "n_positions": 64, "vocab_size": 50257,
    "layer_norm_epsilon": 1e-05, "bos_token_id": 50256, "eos_token_id": 50256,
    "attn_pdrop": 0.1, "embd_pdrop": 0.1, "resid_pdrop": 0.1, "initializer_range": 0.02,
}
LOGIT_PROMPTS = ["Hello, my dog is cute", "hello 👋 world 🌍"]
GREEDY_PROMPT = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat"
GREEDY_NEW_TOKENS = 20


def random_model():
    """GPT-2's own initialisation (std 0.02) makes every logit nearly equal, so greedy choices would
    hang on round-off. These weights keep activations near unit size and the logits well apart."""
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(**CONFIG, attn_implementation="eager")).eval()
    with torch.no_grad():
        for name, p in model.transformer.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif name in ("wte.weight", "wpe.weight"):
                p.copy_(torch.randn_like(p))
            else:  # Conv1D weights, [n_in, n_out]
                p.copy_(torch.randn_like(p) / p.shape[0] ** 0.5)
    return model


def save_hub_layout(model):
    os.makedirs(FOLDER, exist_ok=True)
    tensors = {name: p.detach().numpy().copy() for name, p in model.transformer.named_parameters()}
    n = CONFIG["n_positions"]
    mask = np.tril(np.ones((n, n), dtype=np.float32))[None, None]  # as in the hub's gpt2 files
    for i in range(CONFIG["n_layer"]):
        tensors[f"h.{i}.attn.bias"] = mask.copy()
    save_file(tensors, os.path.join(FOLDER, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(FOLDER, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")


def block_states(model, ids):
    """The residual stream after the embeddings and after each block: [n_layer + 1, n_seq, n_embd].
    (transformers' output_hidden_states applies ln_f to the last entry, so hooks are used instead.)"""
    states = []
    hooks = [block.register_forward_hook(lambda mod, inp, out: states.append(out[0] if isinstance(out, tuple) else out))
             for block in model.transformer.h]
    with torch.no_grad():
        pos = torch.arange(len(ids))
        embeddings = model.transformer.wte(torch.tensor(ids)) + model.transformer.wpe(pos)
        model(torch.tensor([ids]))
    for h in hooks:
        h.remove()
    return np.stack([embeddings.numpy()] + [s[0].numpy() for s in states])


def operations():
    """Inputs and PyTorch's outputs for the single operations of tensor_ops.py."""
    g = torch.Generator().manual_seed(1)
    x = 3 * torch.randn(5, 16, generator=g) + 2
    w, b = 1 + torch.randn(16, generator=g), torch.randn(16, generator=g)
    gelu_x = torch.linspace(-8, 8, 401)
    softmax_x = torch.tensor([[1000.0, 999.0, 0.0, -1000.0], [-1e30, -1e30 + 1e24, 0.0, 3.0], [88.0, 89.0, 90.0, 91.0]])
    return {
        "ln_x": x, "ln_weight": w, "ln_bias": b,
        "ln_out": torch.nn.functional.layer_norm(x, (16,), w, b, eps=CONFIG["layer_norm_epsilon"]),
        "gelu_x": gelu_x, "gelu_out": torch.nn.functional.gelu(gelu_x, approximate="tanh"),
        "softmax_x": softmax_x, "softmax_out": torch.softmax(softmax_x, dim=-1),
        "log_softmax_out": torch.log_softmax(softmax_x, dim=-1),
    }


def main():
    model = random_model()
    save_hub_layout(model)
    tok = GPT2TokenizerFast(os.path.join(FOLDER, "vocab.json"), os.path.join(FOLDER, "merges.txt"))
    ref = {"fixture_version": np.array(FIXTURE_VERSION),
           "torch_version": np.array(torch.__version__), "transformers_version": np.array(transformers.__version__)}
    ref.update({name: t.numpy() for name, t in operations().items()})
    for i, prompt in enumerate(LOGIT_PROMPTS):
        ids = tok.encode(prompt)
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].numpy()
        ref[f"prompt{i}"] = np.array(prompt)
        ref[f"ids{i}"] = np.array(ids)
        ref[f"logits{i}"] = logits
        ref[f"states{i}"] = block_states(model, ids)
    ids = tok.encode(GREEDY_PROMPT)
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=GREEDY_NEW_TOKENS, do_sample=False,
                             pad_token_id=CONFIG["eos_token_id"], output_scores=True, return_dict_in_generate=True)
    top2 = torch.stack(out.scores)[:, 0].topk(2).values
    print(f"greedy: smallest gap between the best and second logit: {(top2[:, 0] - top2[:, 1]).min():.3f}")
    ref["greedy_prompt"] = np.array(GREEDY_PROMPT)
    ref["greedy_ids"] = out.sequences[0].numpy()
    np.savez_compressed(REFERENCE, **ref)
    print(f"wrote {FOLDER} and {REFERENCE} (torch {torch.__version__}, transformers {transformers.__version__})")


if __name__ == "__main__":
    sys.exit(main())
