"""What transformers computes for activation addition (--steer), on the tiny checkpoint, the trained induction model
and a random checkpoint of another shape (tests/checkpoints.py's, rebuilt from its seed by the test).

The steering is done in the reference stack, independently of instruments/steer.py: two runs of the two texts
record the hidden state entering block L (a forward pre-hook), their difference times the coefficient is the
vector, and a pre-hook on block L adds it to the first k positions of every run of the prompt. Generation is
greedy, the whole sequence again at every step (the hook then adds at positions 0..k-1 of each run). Patching
grids (resid and heads) under steering use make_patching_fixtures.py's hooks with the steering hook in place.

Writes tests/fixtures/steering-reference.npz, its keys prefixed by the case's name:
  ids, toward, against, at, coef     the inputs (toward and against already padded with " " to length k)
  logprobs                           log P(ids[t] | ids[:t]) of the steered model, t >= 1
  greedy_ids                         GREEDY_NEW_TOKENS ids the steered model chooses greedily
  corrupted, target, resid, heads    with --patch: a corrupted prompt, the token followed (the steered
                                     model's next), and the two grids [.., 2] (probability, logit(target) -
                                     logit(versus)) with versus the corrupted run's answer, and versus itself

Run it from the project folder, in an environment with torch and transformers:
    /tmp/ref/bin/python tests/reference/make_steering_fixtures.py
"""
import os
import sys

import numpy as np
import torch
import transformers
from transformers import GPT2LMHeadModel

import make_patching_fixtures as patching

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/: the fixtures and the helpers
OUT = os.path.join(HERE, "fixtures", "steering-reference.npz")
GREEDY_NEW_TOKENS = 20
RANDOM_SHAPE = dict(n_layer=3, n_head=2, n_embd=16, n_positions=32, seed=7)  # tests/instruments/test_steer.py builds the same
CASES = {
    "tiny": {"folder": os.path.join(HERE, "fixtures", "tiny-gpt2"), "at": 1, "coef": 5.0,
             "prompt": "The animal is yellow. It's a cat. It's color is yellow. The color of the cat",
             "toward": " Love", "against": " Hate",
             "corrupted": "The animal is green. It's a cat. It's color is green. The color of the cat"},
    "tiny-spaces": {"folder": os.path.join(HERE, "fixtures", "tiny-gpt2"), "at": 2, "coef": -3.5,
                    "prompt": "I went up to my friend and said", "toward": " weddings and cakes", "against": None},
    "induction": {"folder": os.path.join(HERE, "fixtures", "induction-gpt2"), "at": 1, "coef": 8.0,
                  "prompt": "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "toward": "aaaa", "against": "bbb",
                  "corrupted": "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk"},
    "random": {"folder": None, "at": 2, "coef": 2.0, "prompt": "The color of the cat is", "toward": " Love",
               "against": " Hate"},
}


def block_input(args, kwargs):
    return args[0] if args else kwargs["hidden_states"]


def with_block_input(args, kwargs, x):
    if args:
        return (x,) + tuple(args[1:]), kwargs
    return args, {**kwargs, "hidden_states": x}


def stream_entering(model, ids, at):
    """The hidden state entering block `at` [n_seq, n_embd], recorded by a pre-hook."""
    kept = []
    handle = model.transformer.h[at].register_forward_pre_hook(
        lambda m, a, k: kept.append(block_input(a, k)[0].clone()), with_kwargs=True)
    with torch.no_grad():
        model(torch.tensor([ids]))
    handle.remove()
    return kept[0]


def steering_hook(model, at, vectors):
    """A pre-hook on block `at` adding vectors [k, n_embd] to the first k positions of every run."""
    def hook(module, args, kwargs):
        x = block_input(args, kwargs).clone()
        k = min(len(vectors), x.shape[1])
        x[0, :k] += vectors[:k]
        return with_block_input(args, kwargs, x)
    return model.transformer.h[at].register_forward_pre_hook(hook, with_kwargs=True)


def case(name, spec, folder):
    model = GPT2LMHeadModel.from_pretrained(folder, attn_implementation="eager").eval()
    tok = patching.tokenizer(folder)
    space = tok.encode(" ").ids[0]
    toward = tok.encode(spec["toward"]).ids
    against = [space] * len(toward) if spec["against"] is None else tok.encode(spec["against"]).ids
    k = max(len(toward), len(against))
    toward, against = toward + [space] * (k - len(toward)), against + [space] * (k - len(against))
    vectors = spec["coef"] * (stream_entering(model, toward, spec["at"]) - stream_entering(model, against, spec["at"]))
    ids = tok.encode(spec["prompt"]).ids
    out = {"ids": np.array(ids), "toward": np.array(toward), "against": np.array(against),
           "at": np.array(spec["at"]), "coef": np.array(spec["coef"])}
    handle = steering_hook(model, spec["at"], vectors)  # from here on, every run is steered
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
        out["logprobs"] = torch.log_softmax(logits, -1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].numpy()
        sequence = list(ids)
        for _ in range(GREEDY_NEW_TOKENS):
            sequence.append(int(model(torch.tensor([sequence])).logits[0, -1].argmax()))
        out["greedy_ids"] = np.array(sequence[len(ids):])
    if "corrupted" in spec:
        corrupted = tok.encode(spec["corrupted"]).ids
        target = int(logits[-1].argmax())
        versus = int(patching.run(model, corrupted)[-1].argmax())
        if versus == target:
            versus = int(logits[-1].topk(2).indices[1])
        grids = patching.grids(model, ids, corrupted, target, versus, slice(None), ("resid", "heads"))
        out.update(corrupted=np.array(corrupted), target=np.array(target), versus=np.array(versus), **grids)
    handle.remove()
    print(f"{name}: k {k}, greedy {out['greedy_ids'][:8].tolist()}...")
    return {f"{name}/{key}": value for key, value in out.items()}


def main():
    torch.set_grad_enabled(False)
    patching.write_reference(OUT, CASES, RANDOM_SHAPE, case)


if __name__ == "__main__":
    sys.exit(main())
