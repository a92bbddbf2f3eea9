"""--why-attends and --self-repair against an independent float64 reference: a forward pass written here from the
definitions (not the project's probe), with every head's output kept, the stream's parts built from it, the
ln scales frozen as the instruments say. On the induction model and a random checkpoint of another shape, with and
without --versus, zero and mean ablation, steered and not. Every part within 1e-4 of the reference; the parts add
up to the run's own score and change within 1e-5."""
import json
import math

import numpy as np
import pytest

import main
from checkpoints import random_checkpoint, write
from conftest import ROOT, run_main
from load import load_checkpoint
from plumbing.arguments import command_line, parse_args

INDUCTION = f"{ROOT}/tests/fixtures/induction-gpt2"
PROMPT = "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk"
RANDOM_SHAPE = dict(n_layer=3, n_head=3, n_embd=24, n_positions=32, seed=5)
STEER = ["--steer", "zz", "--steer-at", "1", "--steer-coef", "3"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    random = write(tmp_path_factory.mktemp("random"), *random_checkpoint(**RANDOM_SHAPE))
    return {"induction": (load_checkpoint(INDUCTION, INDUCTION), PROMPT),
            "random": (load_checkpoint(random, random), "The color of the cat is yellow, the dog")}


def run(model, prompt, *argv):
    return main.one_run(parse_args(command_line(), [prompt, "-n", "0", *argv, "--model", model.name]), model)


def f64(a):
    return np.asarray(a, np.float64)


def norm(x, ln, eps):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * f64(ln.weight) + f64(ln.bias)


def reference(model, ids, removed=(), means=None, steer=None):
    """float64, from the definitions: (the stream entering each block and after the last [n_layer + 1][n_seq,
    n_embd], each part of those streams {block: {name: [n_seq, n_embd]}}, the logits of the last position). A
    removed head's part is 0 (with means, its mean output's term is its block's attn_bias), as ablate.py defines."""
    params, config = model.params, model.config
    n, eps, d = len(ids), config.layer_norm_epsilon, config.n_embd // config.n_head
    x = f64(params.wte)[ids] + f64(params.wpe)[:n]
    part = {"embed": f64(params.wte)[ids], "pos": f64(params.wpe)[:n]}
    streams, parts = [], {}
    for l, p in enumerate(params.h):
        if steer is not None and l == steer.at:
            add = np.zeros_like(x)
            add[:len(steer.add)] = f64(steer.add)
            x, part = x + add, {**part, "steer": add}
        streams.append(x)
        parts[l] = dict(part)
        qkv = norm(x, p.ln_1, eps) @ f64(p.attn.c_attn.weight) + f64(p.attn.c_attn.bias)
        q, k, v = (qkv[:, i * config.n_embd:(i + 1) * config.n_embd].reshape(n, config.n_head, d).transpose(1, 0, 2)
                   for i in range(3))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d) + np.triu(np.full((n, n), -np.inf), 1)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        out = (weights / weights.sum(-1, keepdims=True)) @ v  # [n_head, n, d]
        rows = f64(p.attn.c_proj.weight).reshape(config.n_head, d, config.n_embd)
        bias = np.broadcast_to(f64(p.attn.c_proj.bias), x.shape).copy()
        for h in range(config.n_head):
            if (l, h) in removed:
                out[h] = 0.0
                if means is not None:
                    bias += f64(means[l, h]) @ rows[h]
            part[f"{l}.{h}"] = out[h] @ rows[h]
        part[f"{l}.attn_bias"] = bias
        x = x + sum(out[h] @ rows[h] for h in range(config.n_head)) + bias
        m = gelu(norm(x, p.ln_2, eps) @ f64(p.mlp.c_fc.weight) + f64(p.mlp.c_fc.bias))
        part[f"{l}.mlp"] = m @ f64(p.mlp.c_proj.weight) + f64(p.mlp.c_proj.bias)
        x = x + part[f"{l}.mlp"]
    streams.append(x)
    parts[config.n_layer] = dict(part)
    return streams, parts, norm(x[-1], params.ln_f, eps) @ f64(params.wte).T


def gelu(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def composition_reference(params, config, L, H):
    """Elhage et al.'s scores with full n_embd x n_embd matrices, float64: {"q", "k", "v"}: {"l.h": score}."""
    d, n = config.n_embd // config.n_head, config.n_embd

    def matrices(l, h):
        p = params.h[l]
        w = f64(p.attn.c_attn.weight) * f64(p.ln_1.weight)[:, None]
        q, k, v = (w[:, i * n + h * d:i * n + (h + 1) * d] for i in range(3))
        return q, k, v, f64(p.attn.c_proj.weight)[h * d:(h + 1) * d]
    q, k, v, o = matrices(L, H)
    late = {"q": q @ k.T, "k": (q @ k.T).T, "v": v @ o}
    out = {kind: {} for kind in late}
    for l in range(L):
        for h in range(config.n_head):
            _, _, ve, oe = matrices(l, h)
            ov = ve @ oe
            for kind, m in late.items():
                out[kind][f"{l}.{h}"] = np.linalg.norm(ov @ m) / (np.linalg.norm(ov) * np.linalg.norm(m))
    return out


@pytest.mark.parametrize("name", ["induction", "random"])
@pytest.mark.parametrize("steered", [False, True], ids=["plain", "steered"])
def test_why_a_head_attends_is_the_references_table_and_adds_up_to_the_runs_score(models, name, steered):
    model, prompt = models[name]
    config, d = model.config, model.config.n_embd // model.config.n_head
    ids = model.tok.encode(prompt)
    cases = [("1.0", []), ("1.2", ["--why-query", "9", "--why-key", "3"]), ("2.1", ["--why-query", "5"]),
             ("0.1", [])] if name == "random" else [("1.0", []), ("1.1", ["--why-query", "20", "--why-key", "7"]),
                                                   ("0.2", [])]
    for head, where in cases:
        done = run(model, prompt, "--why-attends", head, *where, *(STEER if steered else []))
        why = done.report["why_attends"]
        L, H = map(int, head.split("."))
        streams, parts, _ = reference(model, ids, steer=done.steer)
        Q = why["query"]
        assert Q == int(where[where.index("--why-query") + 1]) if "--why-query" in where else Q == len(ids) - 1
        assert why["key"] == (int(where[-1]) if "--why-key" in where else int(np.argmax(done.seen.attention[L][H][Q])))
        p, K = model.params.h[L], why["key"]
        cols = {s: slice(s * config.n_embd + H * d, s * config.n_embd + (H + 1) * d) for s in (0, 1)}

        def side(t, s):
            std = math.sqrt(streams[L][t].var() + config.layer_norm_epsilon)
            rows = {name: (v[t] - v[t].mean()) / std * f64(p.ln_1.weight) @ f64(p.attn.c_attn.weight)[:, cols[s]]
                    for name, v in parts[L].items()}
            rows["bias"] = f64(p.ln_1.bias) @ f64(p.attn.c_attn.weight)[:, cols[s]] + f64(p.attn.c_attn.bias)[cols[s]]
            return rows
        q, k = side(Q, 0), side(K, 1)
        assert set(why["parts"]) == set(q), (why["parts"], sorted(q))
        expected = np.array([[q[i] @ k[j] / math.sqrt(d) for j in why["parts"]] for i in why["parts"]])
        table = np.array(why["table"])
        assert np.abs(table - expected).max() <= 1e-4, (head, np.abs(table - expected).max())
        assert abs(table.sum() - why["score"]) <= 1e-5 * max(1.0, abs(why["score"])), (table.sum(), why["score"])
        assert why["weight"] == pytest.approx(float(done.seen.attention[L][H][Q, K]))
        composition = composition_reference(model.params, config, L, H)
        for kind in "qkv":
            assert why["composition"][kind].keys() == composition[kind].keys()
            for h, s in composition[kind].items():
                assert abs(why["composition"][kind][h] - s) <= 1e-4, (kind, h, why["composition"][kind][h], s)


@pytest.mark.parametrize("name", ["induction", "random"])
@pytest.mark.parametrize("how", [[], ["--ablate-with", "mean"], STEER, ["--versus", "t"], ["--versus", "t", *STEER],
                                 ["--ablate-with", "mean", "--versus", "t"]],
                         ids=["zero", "mean", "steered", "versus", "versus steered", "mean versus"])
def test_self_repair_is_the_references_split_and_adds_up_to_the_change(models, name, how):
    model, prompt = models[name]
    config, params = model.config, model.params
    ids = model.tok.encode(prompt)
    removed = ["1.0", "1.1"] if name == "induction" else ["1.2", "0.0"]
    how = [*how]
    if "--versus" in how and name == "random":
        how[how.index("--versus") + 1] = " dog"
    done = run(model, prompt, "--ablate", ",".join(removed), "--self-repair", *how)
    repair = done.report["self_repair"]
    heads = [tuple(map(int, h.split("."))) for h in removed]
    plain = run(model, prompt, *(STEER if "--steer" in how else []))
    clean_streams, clean_parts, clean_logits = reference(model, ids, steer=plain.steer)
    means = None
    if "mean" in how:
        means = {(l, h): mean_head_output(model, ids, l, h, plain.steer) for l, h in heads}
    _, ablated_parts, ablated_logits = reference(model, ids, removed=heads, means=means, steer=plain.steer)
    target = repair["target"]
    versus = repair["versus"]
    assert target == int(np.argmax(clean_logits)), "self-repair follows the answer of the model with every head"
    token = f64(params.wte)[target] - (0 if versus is None else f64(params.wte)[versus])
    direction = f64(params.ln_f.weight) * token / math.sqrt(clean_streams[-1][-1].var() + config.layer_norm_epsilon)
    effect = {run_: {n: (v[-1] - v[-1].mean()) @ direction for n, v in ps[config.n_layer].items()}
              for run_, ps in (("clean", clean_parts), ("ablated", ablated_parts))}
    metric = {r: lg[target] - (0 if versus is None else lg[versus]) for r, lg in (("clean", clean_logits),
                                                                                 ("ablated", ablated_logits))}
    expected = {n: effect["ablated"][n] - effect["clean"][n] for n in effect["clean"]}
    expected["layer_norm"] = metric["ablated"] - f64(params.ln_f.bias) @ token - sum(effect["ablated"].values())
    assert repair["parts"].keys() == expected.keys()
    worst = max(abs(repair["parts"][n] - v) for n, v in expected.items())
    assert worst <= 1e-4, worst
    assert abs(repair["clean"] - metric["clean"]) <= 1e-4 and abs(repair["ablated"] - metric["ablated"]) <= 1e-4
    assert abs(sum(repair["parts"].values()) - repair["change"]) <= 1e-5 * max(1.0, abs(repair["change"]))
    assert repair["metric"] == ("logit" if versus is None else "logit difference")


@pytest.mark.parametrize("how", [[], ["--ablate-with", "mean"]], ids=["zero", "mean"])
def test_self_repair_adds_one_probe_of_the_prompt_to_the_run_it_explains(models, how, monkeypatch):
    """--self-repair probes the run with every head; with --ablate-with mean that probe is made already (for the heads'
    means), and --self-repair reads it instead of making it again."""
    import instruments.wiring
    model, prompt = models["induction"]
    made = []
    for where in (main, instruments.wiring):
        monkeypatch.setattr(where, "probe", lambda *a, _probe=where.probe, **k: made.append(1) or _probe(*a, **k))
    alone = len(made), run(model, prompt, "--ablate", "1.0", "--attribute", *how), len(made)
    explained = run(model, prompt, "--ablate", "1.0", "--self-repair", *how), len(made)
    assert (alone[2] - alone[0], explained[1] - alone[2]) == ((2, 2) if how else (1, 2))


def mean_head_output(model, ids, l, h, steer):
    """The head's output averaged over the prompt's positions, in the run with every head (float64)."""
    params, config = model.params, model.config
    d = config.n_embd // config.n_head
    streams, _, _ = reference(model, ids, steer=steer)
    p, x, n = params.h[l], streams[l], len(ids)
    qkv = norm(x, p.ln_1, config.layer_norm_epsilon) @ f64(p.attn.c_attn.weight) + f64(p.attn.c_attn.bias)
    q, k, v = (qkv[:, i * config.n_embd + h * d:i * config.n_embd + (h + 1) * d] for i in range(3))
    scores = q @ k.T / math.sqrt(d) + np.triu(np.full((n, n), -np.inf), 1)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    return ((w / w.sum(-1, keepdims=True)) @ v).mean(axis=0)


def test_the_induction_head_looks_at_the_first_b_because_of_the_previous_token_head():
    """The README's reading: 1.0, at the last 'k', looks at the first 'b', and on the key side the previous-token head
    0.2 is what makes the score."""
    out = run_main(PROMPT, "--model", INDUCTION, "-n", "0", "--why-attends", "1.0")
    assert out.returncode == 0, out.stderr
    assert "why head 1.0 attends from 'k' (position 22) to 'b' (position 8)" in out.stdout
    assert "on the key side, 0.2 matters most" in out.stdout


def test_why_a_removed_head_attends_still_adds_up_and_composes_with_nothing():
    """With --ablate, the weights are the ablated ones: a removed head's W_O is zero, and so are its scores."""
    out = run_main(PROMPT, "--model", INDUCTION, "-n", "0", "--ablate", "0.2,1.0", "--why-attends", "1.0", "--json")
    assert out.returncode == 0, out.stderr
    why = json.loads(out.stdout)["why_attends"]
    assert abs(sum(map(sum, why["table"])) - why["score"]) <= 1e-5 * max(1.0, abs(why["score"]))
    assert all(why["composition"][kind]["0.2"] == 0.0 for kind in "qk") and set(why["composition"]["v"].values()) == {0.0}


@pytest.mark.parametrize("argv, sentence", [
    (["--why-query", "3"], "--why-query and --why-key choose the cell of --why-attends: give --why-attends L.H too"),
    (["--why-attends", "1"], "'1' is not a head: write L.H"),
    (["--why-attends", "2.0"], "--why-attends: there is no head 2.0"),
    (["--why-attends", "1.0", "--why-query", "99"], "--why-query 99 is not a position of the prompt's 23"),
    (["--why-attends", "1.0", "--why-query", "5", "--why-key", "9"],
     "--why-key 9 comes after --why-query 5: a position attends only to itself and the positions before it"),
    (["--self-repair"], "--self-repair splits what --ablate changed: give --ablate too"),
])
def test_why_and_self_repair_mistakes_are_one_sentence(argv, sentence):
    out = run_main(PROMPT, "--model", INDUCTION, "-n", "0", *argv)
    assert out.returncode == 2 and sentence in out.stderr and "Traceback" not in out.stderr, out.stderr
