"""What transformers computes for patching every component, path patching, mean ablation, copying scores and
duplicate-token scores, on the tiny checkpoint and on the trained induction model.

The suite compares instruments/patch.py, path_patch.py, ablate.py (--ablate-with mean), copying.py and
head_roles.py with these numbers; none of them comes from this project's code. Each intervention is done
in the reference stack: PyTorch hooks on transformers' modules (a block's input, its attention's and its
MLP's outputs, c_proj's input, c_attn's output), and for an attention pattern or the values a head reads,
transformers' eager attention function replaced by the same few lines with the patch inside. Every run of a
grid stores both metrics, the target's probability and logit(target) - logit(versus), at the last position.

Writes tests/fixtures/patching-reference.npz, its keys prefixed "tiny/" and "induction/":
  ids, corrupted, target, versus, receivers     the inputs; "corrupted" may be several prompts
  clean_*, corrupted_*                          the two runs' metrics (prob, diff)
  {c}/{kind}_{prob,diff}                        grids for corruption c and kind resid, attn, mlp, heads,
                                                pattern, values, at every position
  {c}/{kind}_part_{prob,diff}                   the same for positions PART only (resid and heads)
  {c}/path_{receiver}_{prob,diff}               path-patching grids [n_layer, n_head], NaN for non-senders
  mean_logprobs, mean_greedy_ids                with MEAN_ABLATED replaced by their mean outputs
  copying                                       [n_layer, n_head] copying scores (top 5)
  duplicate, duplicate_sequence                 duplicate-token scores on the repeated random sequence

Run it from the project folder, in an environment with torch and transformers:
    /tmp/ref/bin/python tests/reference/make_patching_fixtures.py
"""
import os
import sys

import numpy as np
import torch
import transformers
import transformers.models.gpt2.modeling_gpt2 as modeling_gpt2
from tokenizers import Tokenizer
from transformers import GPT2LMHeadModel

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/: the fixtures and the helpers
OUT = os.path.join(HERE, "fixtures", "patching-reference.npz")
GREEDY_NEW_TOKENS = 20
PERIOD, SEED = 31, 0  # the repeated sequence of head_roles.py: <|endoftext|> + 2 x 31 tokens
CASES = {
    "tiny": {
        "folder": os.path.join(HERE, "fixtures", "tiny-gpt2"),
        "prompt": "The animal is yellow. It's a cat. It's color is yellow. The color of the cat",
        "corrupted": {"green": "The animal is green. It's a cat. It's color is green. The color of the cat"},
        "receivers": ["logits", "2.1.q", "1.2.k", "2.0.v"],
        "mean_ablated": [(0, 1), (2, 3)],
    },
    "induction": {
        "folder": os.path.join(HERE, "fixtures", "induction-gpt2"),
        "prompt": "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk",
        # the copied byte changed ("b" -> "t"), and the byte before it, which tells the induction head where to look
        "corrupted": {"copied": "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk", "before": "<|endoftext|>qwzjxvtbmyfpgdhqwzjxvk"},
        "receivers": ["logits", "1.0.q", "1.0.k", "1.0.v"],
        "mean_ablated": [(1, 0)],
    },
}
PART = slice(5, 15)  # a --patch-positions range

PATCHES = {}  # block -> {"pattern": fn, "value": fn}, read by the attention function below


def attention_with_patches(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """transformers' eager attention, with the block's patch (if any) applied to its values or its pattern."""
    patch = PATCHES.get(module.layer_idx, {})
    if "value" in patch:
        value = patch["value"](value)
    weights = torch.matmul(query, key.transpose(-1, -2)) * (scaling if scaling is not None else query.size(-1) ** -0.5)
    if attention_mask is not None:
        weights = weights + attention_mask
    weights = torch.softmax(weights, dim=-1)
    if "pattern" in patch:
        weights = patch["pattern"](weights)
    return torch.matmul(weights, value).transpose(1, 2), weights


modeling_gpt2.eager_attention_forward = attention_with_patches


def run(model, ids, hooks=(), patches=None):
    """The logits [n_seq, vocab_size] of one run with the given hooks: (module, fn, kind), kind "pre",
    "pre_kwargs" or "post"."""
    handles = []
    for module, fn, kind in hooks:
        if kind == "post":
            handles.append(module.register_forward_hook(fn))
        else:
            handles.append(module.register_forward_pre_hook(fn, with_kwargs=kind == "pre_kwargs"))
    PATCHES.clear()
    PATCHES.update(patches or {})
    try:
        with torch.no_grad():
            return model(torch.tensor([ids])).logits[0]
    finally:
        for h in handles:
            h.remove()
        PATCHES.clear()


def recorded(model, ids):
    """The clean activations every patch takes its values from."""
    blocks, n = model.transformer.h, model.config.n_layer
    rec = {"resid": [None] * (n + 1), "attn": [None] * n, "mlp": [None] * n, "merged": [None] * n,
           "qkv": [None] * n}

    def keep(store, b, take):
        def hook(module, *args):
            store[b] = take(*args).clone()
        return hook
    hooks = []
    for b, block in enumerate(blocks):
        hooks.append((block, keep(rec["resid"], b, lambda a, k: (a[0] if a else k["hidden_states"])[0]), "pre_kwargs"))
        hooks.append((block.attn, keep(rec["attn"], b, lambda a, o: o[0][0]), "post"))
        hooks.append((block.mlp, keep(rec["mlp"], b, lambda a, o: o[0]), "post"))
        hooks.append((block.attn.c_proj, keep(rec["merged"], b, lambda a: a[0][0]), "pre"))
        hooks.append((block.attn.c_attn, keep(rec["qkv"], b, lambda a, o: o[0]), "post"))
    hooks.append((model.transformer.ln_f, keep(rec["resid"], n, lambda a: a[0][0]), "pre"))
    run(model, ids, hooks)
    with torch.no_grad():
        out = model(torch.tensor([ids]), output_attentions=True)
    rec["pattern"] = [w[0].clone() for w in out.attentions]  # [n_head, n_seq, n_seq]
    return rec


def metrics(logits, target, versus):
    last = logits[-1].double()
    return float(torch.softmax(last, -1)[target]), float(last[target] - last[versus])


def replace_rows(x, rows, new):
    x = x.clone()
    x[rows] = new
    return x


def position_patch(model, kind, layer, t, clean):
    """The hook that puts back, at position t, the clean resid entering block `layer` (or ln_f), or the clean
    output of block `layer`'s attention or MLP."""
    blocks = model.transformer.h
    if kind == "resid" and layer == len(blocks):
        return (model.transformer.ln_f, lambda m, a: (replace_rows(a[0], (0, t), clean["resid"][layer][t]),), "pre")
    if kind == "resid":
        def hook(module, args, kwargs):
            if args:
                return (replace_rows(args[0], (0, t), clean["resid"][layer][t]),) + tuple(args[1:]), kwargs
            return args, {**kwargs, "hidden_states": replace_rows(kwargs["hidden_states"], (0, t), clean["resid"][layer][t])}
        return (blocks[layer], hook, "pre_kwargs")
    if kind == "attn":
        return (blocks[layer].attn, lambda m, a, o: (replace_rows(o[0], (0, t), clean["attn"][layer][t]),) + tuple(o[1:]),
                "post")
    return (blocks[layer].mlp, lambda m, a, o: replace_rows(o, (0, t), clean["mlp"][layer][t]), "post")


def head_patch(model, kind, layer, head, rows, clean):
    """(hooks, patches) that give head `head` of block `layer` its clean output, pattern rows or values at rows."""
    d = model.config.n_embd // model.config.n_head
    cols = slice(head * d, (head + 1) * d)
    if kind == "heads":
        def hook(module, args):
            x = args[0].clone()
            x[0, rows, cols] = clean["merged"][layer][rows, cols]
            return (x,)
        return [(model.transformer.h[layer].attn.c_proj, hook, "pre")], None
    if kind == "pattern":
        return [], {layer: {"pattern": lambda w: replace_rows(w, (0, head, rows), clean["pattern"][layer][head, rows])}}
    e = model.config.n_embd
    clean_v = clean["qkv"][layer][:, 2 * e:][:, cols]  # [n_seq, d_head]
    return [], {layer: {"value": lambda v: replace_rows(v, (0, head, rows), clean_v[rows])}}


def grids(model, clean_ids, corrupted_ids, target, versus, rows, kinds):
    """{kind: [n_rows, n_cols, 2]} of (probability, logit difference)."""
    cfg = model.config
    clean = recorded(model, clean_ids)
    out = {}
    for kind in kinds:
        if kind in ("resid", "attn", "mlp"):
            n_rows = cfg.n_layer + (kind == "resid")
            cells = np.full((n_rows, len(clean_ids), 2), np.nan)
            for layer in range(n_rows):
                for t in range(len(clean_ids))[rows]:
                    logits = run(model, corrupted_ids, [position_patch(model, kind, layer, t, clean)])
                    cells[layer, t] = metrics(logits, target, versus)
        else:
            cells = np.zeros((cfg.n_layer, cfg.n_head, 2))
            for layer in range(cfg.n_layer):
                for head in range(cfg.n_head):
                    hooks, patches = head_patch(model, kind, layer, head, rows, clean)
                    cells[layer, head] = metrics(run(model, corrupted_ids, hooks, patches), target, versus)
        out[kind] = cells
    return out


def frozen_heads(model, clean, corrupted, sender):
    """Hooks on every c_proj's input: every head's output frozen at its clean value, except the sender's, from
    the corrupted run."""
    d = model.config.n_embd // model.config.n_head
    hooks = []
    for b, block in enumerate(model.transformer.h):
        def hook(module, args, b=b):
            x = clean["merged"][b].clone()[None]
            if b == sender[0]:
                cols = slice(sender[1] * d, (sender[1] + 1) * d)
                x[0, :, cols] = corrupted["merged"][b][:, cols]
            return (x,)
        hooks.append((block.attn.c_proj, hook, "pre"))
    return hooks


def path_grid(model, clean_ids, corrupted_ids, target, versus, receiver):
    """[n_layer, n_head, 2]; NaN for heads that are not senders."""
    cfg = model.config
    e, d = cfg.n_embd, cfg.n_embd // cfg.n_head
    clean, corrupted = recorded(model, clean_ids), recorded(model, corrupted_ids)
    cells = np.full((cfg.n_layer, cfg.n_head, 2), np.nan)
    until = cfg.n_layer if receiver == "logits" else int(receiver.split(".")[0])
    for layer in range(until):
        for head in range(cfg.n_head):
            hooks = frozen_heads(model, clean, corrupted, (layer, head))
            if receiver == "logits":
                cells[layer, head] = metrics(run(model, clean_ids, hooks), target, versus)
                continue
            r_block, r_head, which = receiver.split(".")
            r_block, r_head = int(r_block), int(r_head)
            cols = slice("qkv".index(which) * e + r_head * d, "qkv".index(which) * e + (r_head + 1) * d)
            seen = {}
            hooks.append((model.transformer.h[r_block].attn.c_attn,
                          lambda m, a, o: seen.__setitem__("qkv", o[0].clone()), "post"))
            run(model, clean_ids, hooks)  # pass 1: records what the receiver's c_attn computes

            def receive(module, args, output):
                out = output.clone()
                out[0, :, cols] = seen["qkv"][:, cols]
                return out
            logits = run(model, clean_ids, [(model.transformer.h[r_block].attn.c_attn, receive, "post")])  # pass 2
            cells[layer, head] = metrics(logits, target, versus)
    return cells


def mean_ablation(model, ids, heads):
    """Log-probabilities of ids and GREEDY_NEW_TOKENS greedy ids with each head's output replaced, at every
    position, by its mean over ids' positions in the plain run."""
    d = model.config.n_embd // model.config.n_head
    clean = recorded(model, ids)
    hooks = []
    for b, h in heads:
        mean = clean["merged"][b][:, h * d:(h + 1) * d].mean(0)

        def hook(module, args, mean=mean, h=h):
            x = args[0].clone()
            x[..., h * d:(h + 1) * d] = mean
            return (x,)
        hooks.append((model.transformer.h[b].attn.c_proj, hook, "pre"))
    logprobs = torch.log_softmax(run(model, ids, hooks).double(), -1)
    scored = np.array([np.nan] + [float(logprobs[t - 1, ids[t]]) for t in range(1, len(ids))])
    handles = [m.register_forward_pre_hook(fn) for m, fn, _ in hooks]
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=GREEDY_NEW_TOKENS, do_sample=False,
                             pad_token_id=model.config.eos_token_id)
    for handle in handles:
        handle.remove()
    return scored, out[0, len(ids):].numpy()


def copying(model, ids, k=5):
    """[n_layer, n_head]: the share of positions whose own token is among the top k of what the head writes from
    the stream after block 0 (ln_1, its value columns of c_attn and rows of c_proj, no biases, ln_f, lm_head)."""
    cfg = model.config
    e, d = cfg.n_embd, cfg.n_embd // cfg.n_head
    with torch.no_grad():
        x = model(torch.tensor([ids]), output_hidden_states=True).hidden_states[1][0]  # after block 0
        scores = np.zeros((cfg.n_layer, cfg.n_head))
        for b, block in enumerate(model.transformer.h):
            v = block.ln_1(x) @ block.attn.c_attn.weight[:, 2 * e:]  # Conv1D: [in, out]
            for h in range(cfg.n_head):
                written = v[:, h * d:(h + 1) * d] @ block.attn.c_proj.weight[h * d:(h + 1) * d]
                top = model.lm_head(model.transformer.ln_f(written)).topk(k, dim=-1).indices
                scores[b, h] = float((top == torch.tensor(ids)[:, None]).any(-1).double().mean())
    return scores


def duplicate(model, eos):
    vocab = model.config.vocab_size
    low, high = (1000, 10000) if vocab > 10000 else (0, vocab)
    r = np.random.default_rng(SEED).choice([i for i in range(low, high) if i != eos], PERIOD).tolist()
    sequence = [eos] + r + r
    with torch.no_grad():
        attentions = model(torch.tensor([sequence]), output_attentions=True).attentions
    second = torch.arange(PERIOD + 1, len(sequence))
    return np.array(sequence), torch.stack([w[0][:, second, second - PERIOD].mean(-1) for w in attentions]).numpy()


def tokenizer(folder):
    path = os.path.join(folder, "tokenizer.json")
    if os.path.isfile(path):
        return Tokenizer.from_file(path)
    from tokenizers import decoders, models, pre_tokenizers
    t = Tokenizer(models.BPE.from_file(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")))
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.decoder = decoders.ByteLevel()
    t.add_special_tokens(["<|endoftext|>"])
    return t


def case(name, spec):
    model = GPT2LMHeadModel.from_pretrained(spec["folder"], attn_implementation="eager").eval()
    tok = tokenizer(spec["folder"])
    ids = tok.encode(spec["prompt"]).ids
    eos = tok.token_to_id("<|endoftext|>")
    clean_logits = run(model, ids)
    target = int(clean_logits[-1].argmax())
    first = next(iter(spec["corrupted"].values()))
    versus = int(run(model, tok.encode(first).ids)[-1].argmax())  # the corrupted run's answer
    if versus == target:
        versus = int(clean_logits[-1].topk(2).indices[1])
    out = {"ids": np.array(ids), "target": np.array(target), "versus": np.array(versus),
           "receivers": np.array(spec["receivers"]), "corruptions": np.array(list(spec["corrupted"])),
           "mean_ablated": np.array(spec["mean_ablated"])}
    out["clean"] = np.array(metrics(clean_logits, target, versus))
    everywhere = slice(None)
    for c, text in spec["corrupted"].items():
        corrupted = tok.encode(text).ids
        assert len(corrupted) == len(ids)
        out[f"{c}/corrupted_ids"] = np.array(corrupted)
        out[f"{c}/corrupted"] = np.array(metrics(run(model, corrupted), target, versus))
        for kind, cells in grids(model, ids, corrupted, target, versus, everywhere, KINDS).items():
            out[f"{c}/{kind}"] = cells
        for kind, cells in grids(model, ids, corrupted, target, versus, PART, ("resid", "heads")).items():
            out[f"{c}/{kind}_part"] = cells
        for receiver in spec["receivers"]:
            out[f"{c}/path_{receiver}"] = path_grid(model, ids, corrupted, target, versus, receiver)
        print(f"{name}/{c}: target {target}, versus {versus}, clean {out['clean']}, corrupted {out[f'{c}/corrupted']}")
    out["mean_logprobs"], out["mean_greedy_ids"] = mean_ablation(model, ids, spec["mean_ablated"])
    out["copying"] = copying(model, ids)
    out["duplicate_sequence"], out["duplicate"] = duplicate(model, eos)
    return {f"{name}/{key}": value for key, value in out.items()}


KINDS = ("resid", "attn", "mlp", "heads", "pattern", "values")


def write_reference(out, cases, random_shape, case):
    """Write case(name, spec, folder) of every case to out, with the versions of torch and transformers; a case
    whose folder is None runs on a random checkpoint of random_shape (tests/checkpoints.py's), made here."""
    import tempfile
    sys.path.insert(0, HERE)  # tests/checkpoints.py, one folder up from these scripts
    import checkpoints
    ref = {"torch_version": np.array(torch.__version__), "transformers_version": np.array(transformers.__version__)}
    with tempfile.TemporaryDirectory() as scratch:
        for name, spec in cases.items():
            folder = spec["folder"]
            if folder is None:
                folder = checkpoints.write(os.path.join(scratch, name), *checkpoints.random_checkpoint(**random_shape))
            ref.update(case(name, spec, folder))
    np.savez_compressed(out, **ref)
    print(f"wrote {out} (torch {torch.__version__}, transformers {transformers.__version__})")


def main():
    torch.set_grad_enabled(False)
    ref = {"torch_version": np.array(torch.__version__), "transformers_version": np.array(transformers.__version__),
           "part": np.array([PART.start, PART.stop])}
    for name, spec in CASES.items():
        ref.update(case(name, spec))
    np.savez_compressed(OUT, **ref)
    print(f"wrote {OUT} (torch {torch.__version__}, transformers {transformers.__version__})")


if __name__ == "__main__":
    sys.exit(main())
