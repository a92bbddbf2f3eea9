"""Train a tiny GPT-2 that grows an induction head, so the tests can show the instruments find one.

A random GPT-2 has no mechanisms to find. This one is trained on texts that repeat: <|endoftext|>,
then R random bytes, then the same R bytes again and again until the context is full (R from 6 to
31, drawn per text). The first copy cannot be predicted; every later byte can, by a two-step trick
that transformers are known to learn: a head in block 0 copies "which token came before me" into each
position (a previous-token head), and a head in block 1 looks for the position whose previous token
is the current token and predicts the token there (an induction head).

The model reads bytes: its tokenizer.json is GPT-2's byte-level scheme with no merges, 256 byte
tokens and <|endoftext|> (id 256). 2 blocks, 4 heads, n_embd 64, 64 positions: 0.1M parameters,
0.5 MB in float32. It is written in the hub's layout to tests/fixtures/induction-gpt2/.

Run it from the project folder, in an environment with torch and transformers (as make_fixtures.py):
    /tmp/ref/bin/python tests/reference/train_induction_model.py
The suite never imports this script, torch or transformers. Seeded: the same torch version gives the
same weights. It prints the loss on the first copy and on the repeats as training goes.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import GPT2Config, GPT2LMHeadModel

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/: the fixtures and the helpers
FOLDER = os.path.join(HERE, "fixtures", "induction-gpt2")
SEED = 0
STEPS, BATCH, LEARNING_RATE = 2000, 64, 2e-3
HEAD_PENALTY, PENALTY_FROM = 0.01, 500
EOS = 256
CONFIG = {
    "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
    "n_layer": 2, "n_head": 4, "n_embd": 64, "n_ctx": 64, "n_positions": 64, "vocab_size": 257,
    "layer_norm_epsilon": 1e-05, "bos_token_id": EOS, "eos_token_id": EOS,
    "attn_pdrop": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0, "initializer_range": 0.02,
}


def batch(generator):
    """[BATCH, n_ctx] texts and, per text, where its first repeat starts (1 + R)."""
    n = CONFIG["n_positions"]
    texts, starts = [], []
    for _ in range(BATCH):
        period = int(torch.randint(6, 32, (1,), generator=generator))
        r = torch.randint(0, 256, (period,), generator=generator)
        texts.append(torch.cat([torch.tensor([EOS]), r.repeat(n // period + 1)])[:n])
        starts.append(1 + period)
    return torch.stack(texts), torch.tensor(starts)


def head_norms(model):
    """[n_layer, n_head]: the size of each head's weights, its columns of c_attn (query, key, value)
    and its rows of c_proj (the only weights its output passes through, see instruments/ablate.py)."""
    n_head, n_embd = CONFIG["n_head"], CONFIG["n_embd"]
    d_head = n_embd // n_head
    sizes = []
    for block in model.transformer.h:
        qkv = block.attn.c_attn.weight.reshape(n_embd, 3, n_head, d_head)  # [in, q/k/v, head, d_head]
        out = block.attn.c_proj.weight.reshape(n_head, d_head, n_embd)  # [head, d_head, out]
        sizes.append(((qkv ** 2).sum(dim=(0, 1, 3)) + (out ** 2).sum(dim=(1, 2))).sqrt())
    return torch.stack(sizes)


def head_penalty(model, step):
    """A sum of head sizes (not of squares: a group lasso) drives whole heads to zero, so the model does
    each job with as few heads as it can instead of sharing it among several. Head h costs h + 1 times
    as much, which breaks the tie between heads that would otherwise share a job equally. Switched on
    gradually once the induction circuit has formed."""
    ramp = min(1.0, max(0.0, (step - PENALTY_FROM) / PENALTY_FROM))
    cost = torch.arange(1, CONFIG["n_head"] + 1, dtype=torch.float32)
    return ramp * HEAD_PENALTY * (head_norms(model) * cost).sum()


def byte_tokenizer():
    """GPT-2's byte-level tokenizer without merges: one token per byte, named as in vocab.json."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    char = {b: chr(b) for b in printable} | {b: chr(256 + i) for i, b in enumerate(others)}
    vocab = {char[b]: b for b in range(256)} | {"<|endoftext|>": EOS}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(["<|endoftext|>"])
    return tokenizer


def main():
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    model = GPT2LMHeadModel(GPT2Config(**CONFIG, attn_implementation="eager"))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=STEPS, pct_start=0.1)
    positions = torch.arange(CONFIG["n_positions"] - 1)
    for step in range(STEPS):
        texts, starts = batch(generator)
        logits = model(texts).logits[:, :-1]
        losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), texts[:, 1:], reduction="none")
        repeat = positions[None] + 1 >= starts[:, None]  # the predicted token lies in a repeat
        loss = losses.mean() + head_penalty(model, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 200 == 0 or step == STEPS - 1:
            print(f"step {step:>5}: loss on the first copy {losses[~repeat].mean():.3f} (ln 256 = 5.545), "
                  f"on the repeats {losses[repeat].mean():.3f}; head sizes {[[round(float(x), 2) for x in row] for row in head_norms(model).detach()]}",
                  flush=True)
    os.makedirs(FOLDER, exist_ok=True)
    tensors = {name: p.detach().contiguous() for name, p in model.transformer.named_parameters()}
    save_file(tensors, os.path.join(FOLDER, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(FOLDER, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    byte_tokenizer().save(os.path.join(FOLDER, "tokenizer.json"))
    print(f"wrote {FOLDER} (torch {torch.__version__}, seed {SEED}, {STEPS} steps)")


if __name__ == "__main__":
    sys.exit(main())
