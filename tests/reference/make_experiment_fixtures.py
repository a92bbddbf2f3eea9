"""What transformers computes for the instruments and the experiments, on the tiny checkpoint.

The suite compares every instrument with these numbers; none of them comes from this project's code.
It reads the committed tests/fixtures/tiny-gpt2 (made by make_fixtures.py), runs it in transformers
with PyTorch forward hooks doing the interventions, and writes tests/fixtures/tiny-gpt2-experiments.npz:

  attention_*       each block's attention pattern, per head (output_attentions)
  lens_ids/_probs   the logit lens: the top 5 tokens and probabilities at every layer and position,
                    read through transformers' own ln_f and lm_head
  ablated_*         log-probabilities and 20 greedy ids with heads ABLATED removed (a hook zeroes their
                    slice of c_proj's input)
  patch_*           the activation-patching grid (hooks replace one position of a block's input)
  attribution_*     the direct logit attribution, in float64 from hooked activations
  heads_*           previous-token, first-token and induction scores from output_attentions

Run it from the project folder, in an environment with torch and transformers:
    /tmp/ref/bin/python tests/reference/make_experiment_fixtures.py
"""
import os
import sys

import numpy as np
import torch
import transformers
from transformers import GPT2LMHeadModel, GPT2TokenizerFast

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/: the fixtures and the helpers
FOLDER = os.path.join(HERE, "fixtures", "tiny-gpt2")
OUT = os.path.join(HERE, "fixtures", "tiny-gpt2-experiments.npz")
PROMPT = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat"
CORRUPTED = "The animal is green. It's a cat. It's color is green. The color of the cat"
ABLATED = [(0, 1), (2, 3)]
GREEDY_NEW_TOKENS = 20
PERIOD, SEED = 31, 0  # the tiny model has 64 positions: <|endoftext|> + 2 x 31 tokens fit


def run(model, ids, hooks=(), **kwargs):
    handles = [module.register_forward_pre_hook(fn) if pre else module.register_forward_hook(fn)
               for module, fn, pre in hooks]
    try:
        with torch.no_grad():
            return model(torch.tensor([ids]), **kwargs)
    finally:
        for h in handles:
            h.remove()


def ablation_hooks(model):
    d_head = model.config.n_embd // model.config.n_head

    def zero(head):
        def hook(module, args):
            merged = args[0].clone()
            merged[..., head * d_head:(head + 1) * d_head] = 0
            return (merged,)
        return hook
    return [(model.transformer.h[b].attn.c_proj, zero(h), True) for b, h in ABLATED]


def ablated(model, ids):
    hooks = ablation_hooks(model)
    logprobs = torch.log_softmax(run(model, ids, hooks).logits[0], -1)
    scored = np.array([np.nan] + [float(logprobs[t - 1, ids[t]]) for t in range(1, len(ids))])
    handles = [m.register_forward_pre_hook(fn) for m, fn, _ in hooks]
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=GREEDY_NEW_TOKENS, do_sample=False,
                             pad_token_id=model.config.eos_token_id)
    for h in handles:
        h.remove()
    return scored, out[0, len(ids):].numpy()


def patched_probability(model, corrupted, clean_state, layer, t, target):
    """The corrupted run with position t of the input to block `layer` (or of the final stream) taken
    from the clean run."""
    blocks = model.transformer.h
    if layer < len(blocks):
        def hook(module, args, kwargs):
            x = args[0].clone() if args else kwargs["hidden_states"].clone()
            x[0, t] = clean_state[t]
            return ((x,) + tuple(args[1:]), kwargs) if args else (args, {**kwargs, "hidden_states": x})
        handle = blocks[layer].register_forward_pre_hook(hook, with_kwargs=True)
    else:
        def hook(module, args):
            x = args[0].clone()
            x[0, t] = clean_state[t]
            return (x,)
        handle = model.transformer.ln_f.register_forward_pre_hook(hook)
    try:
        with torch.no_grad():
            logits = model(torch.tensor([corrupted])).logits[0, -1]
    finally:
        handle.remove()
    return float(torch.softmax(logits, -1)[target])


def block_inputs(model, ids):
    """The residual stream entering each block, and entering ln_f: [n_layer + 1, n_seq, n_embd]."""
    states = []
    hooks = [(b, lambda m, a, k: states.append((a[0] if a else k["hidden_states"])[0].clone()), True)
             for b in model.transformer.h]
    handles = [m.register_forward_pre_hook(fn, with_kwargs=True) for m, fn, _ in hooks]
    handles.append(model.transformer.ln_f.register_forward_pre_hook(lambda m, a: states.append(a[0][0].clone())))
    run(model, ids)
    for h in handles:
        h.remove()
    return torch.stack(states)


def patch(model, clean, corrupted, target):
    clean_states = block_inputs(model, clean)
    grid = np.array([[patched_probability(model, corrupted, clean_states[layer], layer, t, target)
                      for t in range(len(clean))] for layer in range(model.config.n_layer + 1)])
    p = lambda ids: float(torch.softmax(run(model, ids).logits[0, -1], -1)[target])  # noqa: E731
    return grid, p(clean), p(corrupted)


def attribution(model, ids, target):
    """[(label, value)] in float64, from the activations transformers computed."""
    cfg, tr = model.config, model.transformer
    d_head = cfg.n_embd // cfg.n_head
    merged, mlp_out = {}, {}
    hooks = []
    for b, block in enumerate(tr.h):
        hooks.append((block.attn.c_proj, (lambda b: lambda m, a: merged.__setitem__(b, a[0][0, -1].double()))(b), True))
        hooks.append((block.mlp, (lambda b: lambda m, a, o: mlp_out.__setitem__(b, o[0, -1].double()))(b), False))
    final = block_inputs(model, ids)[-1, -1].double()
    out = run(model, ids, hooks)
    w_t = tr.wte.weight[target].double()
    std = torch.sqrt(final.var(unbiased=False) + cfg.layer_norm_epsilon)
    contribution = lambda v: float(((v - v.mean()) / std * tr.ln_f.weight.double()) @ w_t)  # noqa: E731
    parts = [("embed", contribution(tr.wte.weight[ids[-1]].double() + tr.wpe.weight[len(ids) - 1].double()))]
    for b, block in enumerate(tr.h):
        w = block.attn.c_proj.weight.double()  # Conv1D: [n_embd in, n_embd out]
        for h in range(cfg.n_head):
            s = slice(h * d_head, (h + 1) * d_head)
            parts.append((f"{b}.{h}", contribution(merged[b][s] @ w[s])))
        parts.append((f"{b}.attn_bias", contribution(block.attn.c_proj.bias.double())))
        parts.append((f"{b}.mlp", contribution(mlp_out[b])))
    parts.append(("ln_f.bias", float(tr.ln_f.bias.double() @ w_t)))
    return parts, float(out.logits[0, -1, target])


def head_scores(model, ids, eos_id):
    rng = np.random.default_rng(SEED)
    r = rng.choice([i for i in range(1000, 10000) if i != eos_id], PERIOD).tolist()
    sequence = [eos_id] + r + r
    on_prompt = torch.stack(run(model, ids, output_attentions=True).attentions)[:, 0]  # [n_layer, n_head, n, n]
    on_repeat = torch.stack(run(model, sequence, output_attentions=True).attentions)[:, 0]
    t = torch.arange(1, len(ids))
    second = torch.arange(PERIOD + 1, len(sequence))
    previous = on_prompt[:, :, t, t - 1].mean(-1)
    first = on_prompt[:, :, t, 0].mean(-1)
    induction = on_repeat[:, :, second, second - PERIOD + 1].mean(-1)
    return np.array(sequence), torch.stack([previous, first, induction], -1).numpy()  # [n_layer, n_head, 3]


def lens(model, ids, k=5):
    states = block_inputs(model, ids)  # [n_layer + 1, n_seq, n_embd]
    with torch.no_grad():
        probs = torch.softmax(model.lm_head(model.transformer.ln_f(states)), -1)
    top = probs.topk(k, dim=-1)
    return top.indices.numpy(), top.values.numpy()


def main():
    torch.set_grad_enabled(False)
    model = GPT2LMHeadModel.from_pretrained(FOLDER, attn_implementation="eager").eval()
    tok = GPT2TokenizerFast(os.path.join(FOLDER, "vocab.json"), os.path.join(FOLDER, "merges.txt"))
    ids, corrupted = tok.encode(PROMPT), tok.encode(CORRUPTED)
    assert len(ids) == len(corrupted)
    target = int(run(model, ids).logits[0, -1].argmax())
    ref = {"torch_version": np.array(torch.__version__), "transformers_version": np.array(transformers.__version__),
           "prompt": np.array(PROMPT), "corrupted": np.array(CORRUPTED), "ids": np.array(ids),
           "target": np.array(target), "ablated": np.array(ABLATED)}
    ref["attention"] = torch.stack(run(model, ids, output_attentions=True).attentions)[:, 0].numpy()
    ref["lens_ids"], ref["lens_probs"] = lens(model, ids)
    ref["ablated_logprobs"], ref["ablated_greedy_ids"] = ablated(model, ids)
    ref["patch_grid"], ref["patch_clean"], ref["patch_corrupted"] = patch(model, ids, corrupted, target)
    parts, logit = attribution(model, ids, target)
    ref["attribution_labels"] = np.array([label for label, _ in parts])
    ref["attribution_values"] = np.array([value for _, value in parts])
    ref["attribution_logit"] = np.array(logit)
    ref["heads_sequence"], ref["heads_scores"] = head_scores(model, ids, tok.eos_token_id)
    np.savez_compressed(OUT, **ref)
    print(f"target {target} {tok.decode([target])!r}; parts sum to {sum(v for _, v in parts):.6f}, logit {logit:.6f}")
    print(f"wrote {OUT} (torch {torch.__version__}, transformers {transformers.__version__})")


if __name__ == "__main__":
    sys.exit(main())
