"""--edges (with --patch): every edge of the circuit at once, each estimated from one backward pass (edge
attribution patching, Syed et al. 2023).

A node writes into the residual stream: the embeddings ("embed"), each head ("L.H": its output through its own
rows of c_proj) and each MLP ("L.mlp"). A receiver reads the stream: each later head's queries, keys or values
("L.H.q", "L.H.k", "L.H.v": the stream entering block L, through ln_1 and that head's columns of c_attn), each
MLP's input ("L.mlp": the stream after block L's attention, through ln_2), and "logits" (the final stream, through
ln_f). Every reader reads the sum of everything written before it, so an edge is one sender's term in one
receiver's input. Its score:

    (sender's output in the clean run - in the corrupted run) . d metric / d (the receiver's own input)

summed over positions, the gradient taken in the corrupted run, with the receiver's own copy of the stream and
every other reader unchanged: what the metric would gain, to first order, if that one receiver alone read the
clean sender. The metric is --patch's (P(target), or the logit difference with --versus), so that an edge's
exact value is --path's cell: path patching puts the same sender into the same receiver alone (a head to the
logits, or to a head's q, k or v) and runs the rest. The estimate is a straight line, with attribution
patching's limits (attribution_patching.py): right for small changes, short where a softmax or a LayerNorm
saturates.

Its cost: the two probes and one backward pass (lessons/backward.py, which keeps each head's query and key
gradients and the MLPs' own input gradients), then one matrix product of every sender's change with every
receiver's gradient.
"""
import numpy as np

from config import Config
from instruments import refuse
from instruments.attribution_patching import gradients
from instruments.probe import Probe
from lessons.backward import layer_norm_backward
from params import GPT2


def sender_outputs(seen: Probe, params: GPT2, config: Config):
    """{node: [n_seq, n_embd]}: what each node writes into the stream in the run seen, in the stream's order."""
    n_head, n_embd = config.n_head, config.n_embd
    out = {"embed": seen.states[0]}
    for n_block, p in enumerate(params.h):
        rows = p.attn.c_proj.weight.reshape(n_head, n_embd // n_head, n_embd)  # each head's rows of c_proj
        written = seen.heads[n_block] @ rows  # [n_head, n_seq, n_embd]: each head's share of c_proj, without its bias
        out.update({f"{n_block}.{head}": written[head] for head in range(n_head)})
        out[f"{n_block}.mlp"] = seen.mlp[n_block]
    return out


def receiver_gradients(seen: Probe, grads, params: GPT2, config: Config):
    """{receiver: [n_seq, n_embd]}: the metric's gradient with respect to each receiver's own copy of the stream."""
    n_head, eps = config.n_head, config.layer_norm_epsilon
    d_head = config.n_embd // n_head
    out = {}
    for n_block, p in enumerate(params.h):
        for part, which, d in ((0, "q", grads.q), (1, "k", grads.k), (2, "v", grads.values)):
            starts = [(part * n_head + h) * d_head for h in range(n_head)]  # each head's q, k or v columns of c_attn
            d_ln = np.stack([d[n_block][h] @ p.attn.c_attn.weight[:, start:start + d_head].T  # read in place, no copy
                             for h, start in enumerate(starts)])  # [n_head, n_seq, n_embd]: the gradient after ln_1
            d_x = layer_norm_backward(d_ln, seen.states[n_block], p.ln_1, eps)  # each head's own copy of ln_1
            out.update({f"{n_block}.{head}.{which}": d_x[head] for head in range(n_head)})
        out[f"{n_block}.mlp"] = grads.mlp_input[n_block]
    out["logits"] = grads.states[-1]
    return out


def block_of(name, config: Config):
    """(the block a node or receiver belongs to: embed -1, logits n_layer; whether it is an MLP's)."""
    if name in ("embed", "logits"):
        return (-1 if name == "embed" else config.n_layer), False
    return int(name.split(".")[0]), name.split(".")[1] == "mlp"


def reaches(senders, receivers, config: Config):
    """[senders, receivers]: whether each sender writes before each receiver reads (an earlier block, or a head into
    its own block's MLP)."""
    (s, s_mlp), (r, r_mlp) = (np.array([block_of(name, config) for name in names]).T for names in (senders, receivers))
    return (s[:, None] < r) | ((s[:, None] == r) & ~s_mlp[:, None].astype(bool) & r_mlp.astype(bool))


def edges(clean: Probe, corrupted: Probe, target, versus, params: GPT2, config: Config):
    """The --json object of --edges: {"target", "versus", "metric", "edges": [{"from", "to", "score"}]}, every edge
    of the model, the largest |score| first, in the metric's units."""
    refuse.same_prompt_length(clean, corrupted)
    target, versus = refuse.target_and_versus(target, versus, config)
    _, grads = gradients(corrupted, target, versus, params, config)
    new, old = sender_outputs(clean, params, config), sender_outputs(corrupted, params, config)
    receivers = receiver_gradients(corrupted, grads, params, config)
    senders, names = list(new), list(receivers)
    change = np.stack([(new[s] - old[s]).ravel() for s in senders])  # [senders, n_seq * n_embd]
    scores = change @ np.stack([receivers[r].ravel() for r in names]).T  # [senders, receivers]
    rows, cols = np.nonzero(reaches(senders, names, config))
    order = np.argsort(-np.abs(scores[rows, cols]), kind="stable")  # the largest |score| first
    rows, cols = rows[order], cols[order]
    found = [{"from": s, "to": r, "score": v} for s, r, v in
             zip(np.array(senders)[rows].tolist(), np.array(names)[cols].tolist(), scores[rows, cols].tolist())]
    return {"target": target, "versus": versus, "metric": "probability" if versus is None else "logit difference",
            "edges": found}


def print_edges(result, target_text, versus_text=None, shown=12):
    metric = f"P({target_text})" if versus_text is None else f"logit({target_text}) - logit({versus_text})"
    strongest = result["edges"][:shown]
    print(f"edges: each edge's estimated effect on {metric}, from one backward pass of the corrupted run: the "
          f"sender's change (clean - corrupted) . the gradient at the receiver's own input; the {len(strongest)} "
          f"strongest of {len(result['edges'])}")
    for edge in strongest:
        print(f"  {edge['from']:>7} -> {edge['to']:<9} {edge['score']:+.4g}")
    nodes = sorted({edge["from"] for edge in strongest} | {edge["to"].rsplit(".", 1)[0] if edge["to"].endswith(
        (".q", ".k", ".v")) else edge["to"] for edge in strongest}, key=lambda n: (n != "embed", n == "logits", n))
    print(f"  the nodes they join: {', '.join(nodes)}")
    print("  (--path gives an edge's exact value: a head to the logits, or to a head's q, k or v)\n")
