"""--self-repair (with --ablate): who made up for the removed heads, and by how much.

Removing a head changes the metric (the followed token's logit, or logit(target) - logit(versus)) by less than the
head's own direct effect, often: later heads and MLPs, reading a stream without it, write more (or less) of the
answer themselves. The change splits exactly. The final stream at the last position is a sum of parts (the
embeddings, each head through its rows of c_proj, each c_proj bias, each MLP, the steering: attribute.parts), and
with ln_f's scale frozen the metric is linear in it: each part's direct effect is that part, centred, divided by
the scale, times ln_f.weight, dotted with wte[target] (minus wte[versus]). Freeze the scale at the run with every
head's value in both runs; then

  metric(ablated) - metric(clean) = sum over parts of (direct effect in the ablated run - in the clean run)
                                    + what the change of ln_f's scale did ("layer_norm")

exactly. A removed head's part is its lost direct effect (with --ablate-with mean, its mean output's effect
goes to its block's "l.attn_bias"); every other part is how much that part made up for it (positive) or made
it worse (negative). The clean run is one more forward pass, with every head (with --ablate-with mean, the one
the means came from: no more).
"""
import math
from typing import NamedTuple

from config import Config
from instruments.attribute import parts
from instruments.probe import Probe
from params import GPT2


class SelfRepair(NamedTuple):  # in --json, "self_repair"
    metric: str  # "logit" or "logit difference"
    target: int
    versus: object  # an id, or None
    clean: float  # the metric with every head
    ablated: float  # with the heads removed
    change: float  # ablated - clean
    parts: dict  # {part: its share of the change}, adding up to change


def self_repair(clean: Probe, ablated: Probe, clean_params: GPT2, ablated_params: GPT2, config: Config, target,
                versus=None) -> SelfRepair:
    token = clean_params.wte[target] if versus is None else clean_params.wte[target] - clean_params.wte[versus]
    x = clean.states[-1][-1]  # [n_embd]: the clean run's final stream at the last position
    direction = clean_params.ln_f.weight * token / math.sqrt(float(x.var()) + config.layer_norm_epsilon)

    def effects(seen, params):  # {part: its direct effect}, through the clean run's frozen scale
        return {name: float((v - v.mean()) @ direction) for name, v in parts(seen, params, config, split_embedding=True)}

    def metric(seen):
        return float(seen.logits[-1, target] - (0.0 if versus is None else seen.logits[-1, versus]))

    before, after = effects(clean, clean_params), effects(ablated, ablated_params)
    bias = float(clean_params.ln_f.bias @ token)  # the same in both runs
    split = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in {**before, **after}}
    split["layer_norm"] = metric(ablated) - bias - sum(after.values())
    return SelfRepair("logit" if versus is None else "logit difference", target, versus, metric(clean),
                      metric(ablated), metric(ablated) - metric(clean), split)


def print_self_repair(repair: SelfRepair, removed, target_text, versus_text=None, shown=5):
    """The change, the removed heads' lost direct effect, and the parts that made up for it most."""
    what = f"logit({target_text})" if versus_text is None else f"logit({target_text}) - logit({versus_text})"
    print(f"self-repair: {what} is {repair.clean:+.3f} with every head and {repair.ablated:+.3f} without "
          f"{', '.join(removed)}: a change of {repair.change:+.3f}, split exactly (ln_f's scale frozen at the run with every head)")
    lost = sum(repair.parts.get(head, 0.0) for head in removed)
    print(f"  the removed heads' lost direct effect: {lost:+.3f}")
    others = sorted((item for item in repair.parts.items() if item[0] not in removed and abs(item[1]) >= 5e-4),
                    key=lambda item: -abs(item[1]))
    for name, value in others[:shown]:
        print(f"  {name:<12} {value:+8.3f}  {'made up for part of it' if value * lost < 0 else 'added to the loss'}")
    quiet = len(repair.parts) - len(removed) - len(others)
    if quiet:
        print(f"  ({quiet} other parts changed by less than 0.0005: nothing before the removed heads can react)")
    print(f"  the {len(repair.parts)} parts add up to {sum(repair.parts.values()):+.4f}\n")
