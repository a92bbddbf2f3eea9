"""What PyTorch's autograd computes for GPT-2's gradients, attribution patching and saliency, on the tiny checkpoint,
the trained induction model and a random checkpoint of another shape (rebuilt by the test from its seed).

None of it comes from this project's code: transformers runs each prompt with every activation the gradients are
asked of cloned in place (forward hooks on a block's input, its attention's and MLP's outputs, c_proj's input,
ln_f's input; transformers' eager attention replaced by the same lines with its pattern and values cloned), and
backward() of the metric fills their .grad. The estimated grids are formed here from those activations and
gradients: metric(corrupted) + (clean - corrupted) . gradient, summed over what each cell puts back.

Writes tests/fixtures/gradient-reference.npz, its keys prefixed by the case's name:
  ids, corrupted, target, versus              the inputs
  logprob/{point}                              the gradients of log P(target) at the last position of the clean
                                               run: resid [n_layer + 1, n_seq, n_embd], attn, mlp, heads
                                               [n_layer, n_head, n_seq, d_head], pattern, values
  {prob,diff}/{kind}                           estimated grids of every kind, at every position, for P(target) and
                                               logit(target) - logit(versus)
  {prob,diff}/part_{kind}                      the same for the positions PART only
  saliency_{prob,diff}                         gradient times input of the clean run's embeddings

Run it from the project folder, in an environment with torch and transformers:
    /tmp/refenv/bin/python tests/reference/make_gradient_fixtures.py
"""
import os
import sys

import numpy as np
import torch
import transformers
import transformers.models.gpt2.modeling_gpt2 as modeling_gpt2
from transformers import GPT2LMHeadModel

import make_patching_fixtures as patching

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/: the fixtures and the helpers
OUT = os.path.join(HERE, "fixtures", "gradient-reference.npz")
RANDOM_SHAPE = dict(n_layer=2, n_head=3, n_embd=24, n_positions=24, seed=11)  # tests/core/test_backward.py builds the same
PART = [5, 1, 2]  # positions chosen, in no order
CASES = {
    "tiny": {"folder": os.path.join(HERE, "fixtures", "tiny-gpt2"),
             "prompt": "The animal is yellow. It's a cat. It's color is yellow. The color of the cat",
             "corrupted": "The animal is green. It's a cat. It's color is green. The color of the cat"},
    "induction": {"folder": os.path.join(HERE, "fixtures", "induction-gpt2"),
                  "prompt": "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "corrupted": "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk"},
    "random": {"folder": None, "prompt": "The color of the cat is yellow", "corrupted": "The color of the dog is yellow"},
}
KEPT = {}  # (point, block) -> the activation, cloned, whose .grad backward() fills


def keep(point, block, x):
    if not torch.is_grad_enabled():  # a run that only looks
        return x
    x = x.clone()
    x.retain_grad()
    KEPT[point, block] = x
    return x


def attention_kept(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """transformers' eager attention, its values and its pattern kept."""
    value = keep("values", module.layer_idx, value)
    weights = torch.matmul(query, key.transpose(-1, -2)) * (scaling if scaling is not None else query.size(-1) ** -0.5)
    if attention_mask is not None:
        weights = weights + attention_mask
    weights = keep("pattern", module.layer_idx, torch.softmax(weights, dim=-1))
    return torch.matmul(weights, value).transpose(1, 2), weights


modeling_gpt2.eager_attention_forward = attention_kept


def kept_run(model, ids):
    """The last position's logits of a run with every point kept (KEPT, filled anew)."""
    KEPT.clear()
    blocks, n = model.transformer.h, model.config.n_layer
    handles = []
    for b, block in enumerate(blocks):
        def resid(module, args, kwargs, b=b):
            if args:
                return (keep("resid", b, args[0]),) + tuple(args[1:]), kwargs
            return args, {**kwargs, "hidden_states": keep("resid", b, kwargs["hidden_states"])}
        handles.append(block.register_forward_pre_hook(resid, with_kwargs=True))
        handles.append(block.attn.register_forward_hook(lambda m, a, o, b=b: (keep("attn", b, o[0]),) + tuple(o[1:])))
        handles.append(block.mlp.register_forward_hook(lambda m, a, o, b=b: keep("mlp", b, o)))
        handles.append(block.attn.c_proj.register_forward_pre_hook(lambda m, a, b=b: (keep("heads", b, a[0]),)))
    handles.append(model.transformer.ln_f.register_forward_pre_hook(lambda m, a: (keep("resid", n, a[0]),)))
    try:
        return model(torch.tensor([ids])).logits[0, -1].double()
    finally:
        for h in handles:
            h.remove()


def metric(logits, target, versus, kind):
    if kind == "logprob":
        return torch.log_softmax(logits, -1)[target]
    if kind == "prob":
        return torch.softmax(logits, -1)[target]
    return logits[target] - logits[versus]


def points(model):
    """KEPT's activations and gradients as arrays, each point a list over blocks, heads split out."""
    n, n_head = model.config.n_layer, model.config.n_head
    act, grad = {}, {}
    for point in ("resid", "attn", "mlp", "heads", "pattern", "values"):
        blocks = range(n + 1) if point == "resid" else range(n)
        for store, take in ((act, lambda x: x.detach()), (grad, lambda x: x.grad)):
            values = [take(KEPT[point, b])[0].double().numpy() for b in blocks]
            if point == "heads":  # [n_seq, n_embd] -> [n_head, n_seq, d_head]
                values = [v.reshape(v.shape[0], n_head, -1).transpose(1, 0, 2) for v in values]
            store[point] = values
    return act, grad


def estimates(clean, corrupted, grad, base, positions):
    """Every kind's grid of first-order estimates, as instruments/patch.py lays its grids out."""
    ts = np.array(positions)
    out = {}
    for kind, point in (("resid", "resid"), ("attn", "attn"), ("mlp", "mlp")):
        out[kind] = np.array([[base + float((a[t] - b[t]) @ g[t]) if t in positions else np.nan for t in range(len(a))]
                              for a, b, g in zip(clean[point], corrupted[point], grad[point])])
    for kind in ("heads", "pattern", "values"):
        out[kind] = np.array([base + ((a[:, ts] - b[:, ts]) * g[:, ts]).sum(axis=(1, 2))
                              for a, b, g in zip(clean[kind], corrupted[kind], grad[kind])])
    return out


def case(name, spec, folder):
    model = GPT2LMHeadModel.from_pretrained(folder, attn_implementation="eager").eval()
    tok = patching.tokenizer(folder)
    ids, corrupted = tok.encode(spec["prompt"]).ids, tok.encode(spec["corrupted"]).ids
    assert len(ids) == len(corrupted)
    with torch.no_grad():
        target = int(model(torch.tensor([ids])).logits[0, -1].argmax())
        versus = int(model(torch.tensor([corrupted])).logits[0, -1].argmax())
        if versus == target:
            versus = int(model(torch.tensor([ids])).logits[0, -1].topk(2).indices[1])
    out = {"ids": np.array(ids), "corrupted": np.array(corrupted), "target": np.array(target), "versus": np.array(versus)}
    metric(kept_run(model, ids), target, versus, "logprob").backward()
    _, grad = points(model)
    out.update({f"logprob/{point}": np.array(values) for point, values in grad.items()})
    for kind in ("prob", "diff"):
        metric(kept_run(model, ids), target, versus, kind).backward()
        clean, clean_grad = points(model)
        out[f"saliency_{kind}"] = (clean["resid"][0] * clean_grad["resid"][0]).sum(axis=-1)
        base = metric(kept_run(model, corrupted), target, versus, kind)
        base.backward()
        bad, grad = points(model)
        every = estimates(clean, bad, grad, float(base), list(range(len(ids))))
        part = estimates(clean, bad, grad, float(base), PART)
        out.update({f"{kind}/{k}": v for k, v in every.items()})
        out.update({f"{kind}/part_{k}": v for k, v in part.items()})
    print(f"{name}: {len(ids)} tokens, target {target}, versus {versus}")
    return {f"{name}/{key}": value for key, value in out.items()}


def main():
    patching.write_reference(OUT, CASES, RANDOM_SHAPE, case)


if __name__ == "__main__":
    sys.exit(main())
