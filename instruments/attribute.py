"""--attribute: direct logit attribution. Which parts of the network wrote the target's logit?

Nothing is ever taken out of the residual stream: the embeddings start it, and every head and every
MLP only adds to it. So the final stream at the last position is a sum of parts:
    x = (wte + wpe) + sum over blocks of (each head's output through its rows of c_proj
                                          + c_proj's bias + the MLP's output)
The logit of a token is unembed(x) at that token: (x - mean(x)) / std(x) * ln_f.weight + ln_f.bias,
then a dot product with the token's row of wte. Everything there is linear in x except std(x). Freeze
it at this run's value and the logit splits into one number per part (each part centred, divided by
that std, times ln_f.weight, dotted with wte[target]), plus ln_f.bias . wte[target]: the parts
add up to the logit exactly, up to float32 round-off. A large positive part pushed the target up.

With --steer, when the prompt is no longer than the steering texts, the last position's stream holds the
steering vector too: it is one more part ("steer").

With --versus, the same for logit(target) - logit(versus): the dot product is then with
wte[target] - wte[versus], and a part is positive when it favours the target over the other token.

"Direct" is the word to keep in mind: a head that helps only by changing what later blocks read
gets no credit here. --patch measures that indirect effect.
"""
import math

from config import Config
from instruments.probe import Probe
from params import GPT2


def parts(seen: Probe, params: GPT2, config: Config, until=None, position=-1, split_embedding=False):
    """[(label, vector [n_embd])]: the terms that add up to the residual stream entering block `until` (by default
    the final stream) at `position` (by default the last). split_embedding: wte[id] ("embed") and wpe[t] ("pos")
    as two terms, rather than their sum ("embed"). --steer's vector is a term where it reached (or is "steer" of
    zeros at a position beyond its texts, with split_embedding, so that every position has the same terms)."""
    until = config.n_layer if until is None else until
    t, d_head = range(len(seen.states[0]))[position], config.n_embd // config.n_head
    embedding = seen.states[0][t]  # wte[id] + wpe[t]
    terms = [("embed", embedding - params.wpe[t]), ("pos", params.wpe[t])] if split_embedding else [("embed", embedding)]
    for n_block, p in enumerate(params.h[:until + 1]):
        if seen.steer and n_block == seen.steer.at and (t < len(seen.steer.add) or split_embedding):
            terms.append(("steer", seen.steer.add[t] if t < len(seen.steer.add) else 0 * embedding))
        if n_block == until:
            break
        rows = p.attn.c_proj.weight.reshape(config.n_head, d_head, config.n_embd)  # head h's rows of c_proj
        for head in range(config.n_head):
            terms.append((f"{n_block}.{head}", seen.heads[n_block][head, t] @ rows[head]))
        terms.append((f"{n_block}.attn_bias", p.attn.c_proj.bias))
        terms.append((f"{n_block}.mlp", seen.mlp[n_block][t]))
    return terms


def attribute(seen: Probe, target, params: GPT2, config: Config, versus=None):
    """(the target's logit, or logit(target) - logit(versus), and [[label, contribution]] adding up to it)."""
    x = seen.states[-1][-1]  # [n_embd]: the final stream, the sum of the terms
    std = math.sqrt(float(x.var()) + config.layer_norm_epsilon)  # frozen at this run's value
    token = params.wte[target] if versus is None else params.wte[target] - params.wte[versus]  # [n_embd]
    direction = params.ln_f.weight * token
    contributions = [[label, float((v - v.mean()) / std @ direction)] for label, v in parts(seen, params, config)]
    contributions.append(["ln_f.bias", float(params.ln_f.bias @ token)])
    logit = seen.logits[-1, target] - (0 if versus is None else seen.logits[-1, versus])
    return float(logit), contributions


def print_attribution(logit, contributions, target_text, versus_text=None, shown=12):
    total = sum(value for _, value in contributions)
    what = target_text if versus_text is None else f"{target_text} minus {versus_text}"
    print(f"direct logit attribution of {what} at the last position: the {shown} largest parts")
    biggest = max(abs(value) for _, value in contributions) or 1.0
    for label, value in sorted(contributions, key=lambda c: -abs(c[1]))[:shown]:
        bar = ("+" if value > 0 else "-") * round(abs(value) / biggest * 30)
        print(f"  {label:<12} {value:+9.3f}  {bar}")
    name = "logit" if versus_text is None else "logit difference"
    print(f"  the {len(contributions)} parts add up to {total:.4f}; the {name} is {logit:.4f} "
          f"({abs(total - logit):.1e} apart: float32 round-off)")
    print()
