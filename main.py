"""Run GPT-2 from the command line: python main.py "The color of the cat"

The top of the call chain: read the arguments (arguments.py), load the tokenizer (tokenizer.py) and
the weights (load.py), then either continue the prompt (generate.py) or score it (score.py),
printing the text as it is produced. Reading order: this file, generate.py, model.py, layer.py,
attention.py, mlp.py, tensor_ops.py.
"""
import json
import os
import sys

from arguments import parse_args
from config import ModelError
from generate import generate
from load import load_model, model_folder
from sampling import sampler
from score import perplexity, token_logprobs
from tokenizer import load_tokenizer


def main(argv=None):
    parser, args = parse_args(argv)
    try:
        folder = model_folder(args.model)
        tok = load_tokenizer(folder)  # first: it is quick, and a folder without one fails at once
        params, config = load_model(folder)
        ids = tok.encode(args.prompt) or [tok.eos_id]  # GPT-2 samples unconditionally after <|endoftext|>
        if len(ids) > config.n_ctx and not args.score:
            parser.error(f"the prompt has {len(ids)} tokens; this model reads at most {config.n_ctx}")
        if args.stride and args.stride >= config.n_ctx:
            parser.error(f"--stride must be less than the model's context of {config.n_ctx} tokens, so that "
                         "windows overlap and every token has context")
        extra = explain_prompt(args, ids[-config.n_ctx:], params, config, tok)
        if args.score:
            report = print_score(args, ids, params, config, tok)
        else:
            report = print_generation(args, ids, params, config, tok)
        if args.json:
            print(json.dumps({**report, **extra}, ensure_ascii=False))
    except ModelError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early, e.g. `| head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1
    return 0


def print_generation(args, ids, params, config, tok):
    choose = sampler(args.temperature, args.top_k, args.top_p, args.seed)
    steps = []  # --show-top's record of each step
    if args.show_top:
        from top_tokens import recording
        choose = recording(choose, args.show_top, tok, steps)
        print(f"step  chosen         | the {args.show_top} likeliest next tokens (the model's probabilities)")
    new_ids = generate(ids, params, config, args.max_new_tokens, choose,
                       stop_id=None if args.ignore_eos else tok.eos_id,
                       sliding_window=args.sliding_window, kv_cache=args.kv_cache)
    if args.show_top:  # one line per step as it comes, then the text
        new_ids = list(new_ids)
        write(args.prompt + tok.decode(new_ids))
    else:
        write(args.prompt)
        new_ids = stream(new_ids, tok)
    write("\n")
    if len(new_ids) < args.max_new_tokens and new_ids[-1:] != [tok.eos_id]:
        print(f"note: stopped after {len(new_ids)} new tokens: the model reads at most {config.n_ctx} tokens",
              file=sys.stderr)
    report = {"model": args.model, "prompt_ids": ids, "generated_ids": new_ids,
              "text": args.prompt + tok.decode(new_ids)}
    return dict(report, top=steps) if args.show_top else report


def stream(new_ids, tok):
    """Print the continuation as the ids arrive and return them. A token may end in the middle of a
    UTF-8 character (an emoji is often two or three tokens); decoding it alone would show the
    replacement character "\ufffd", so such text is held back until the character is complete."""
    generated, shown = [], ""
    for next_id in new_ids:
        generated.append(next_id)
        text = tok.decode(generated)
        if not text.endswith("\ufffd"):
            write(text[len(shown):])
            shown = text
    write(tok.decode(generated)[len(shown):])  # whatever was held back at the end
    return generated


def write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def print_score(args, ids, params, config, tok):
    logprobs = token_logprobs(ids, params, config, args.stride)
    ppl = perplexity(logprobs)
    if not args.json:
        for i, lp in list(zip(ids, logprobs))[:config.n_ctx]:
            print(f"{i:>6}  {tok.decode([i])!r:<20} {'' if lp is None else f'{lp:9.4f}'}")
        if len(ids) > config.n_ctx:
            print(f"... and {len(ids) - config.n_ctx} more tokens, scored with a sliding window")
        print(f"perplexity: {ppl:.4f}" if ppl is not None else "perplexity: needs at least two tokens")
    return {"ids": ids, "logprobs": logprobs, "perplexity": ppl}


def explain_prompt(args, ids, params, config, tok):
    """The learning tools that look at the prompt; returns what they add to --json."""
    from token_view import describe, print_tokens  # each tool is a module of its own
    extra = {}
    if args.tokens:
        print_tokens(ids, tok)
    if args.trace:
        from shape_trace import print_trace, trace
        print_trace(trace(ids, params, config), config)
    if args.lens or args.attention:
        from probe import probe
        seen = probe(ids, params, config)
        if args.lens:
            from logit_lens import logit_lens, print_lens
            extra["lens"] = logit_lens(seen, params, config, tok)
            print_lens(extra["lens"])
        if args.attention:
            from attention_map import summary, write_svg
            labels = [shown for _, _, shown, _ in describe(ids, tok)]
            write_svg(args.attention, seen.attention, labels, f"{args.model}: {args.prompt[:80]!r}")
            print("\n".join(summary(seen.attention, labels)) + f"\nwrote {args.attention}\n")
    return extra


if __name__ == "__main__":
    sys.exit(main())
