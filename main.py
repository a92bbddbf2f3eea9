"""Run GPT-2 from the command line: python main.py "The color of the cat"

The top of the call chain: read the arguments (plumbing/arguments.py), load the tokenizer
(tokenizer.py) and the weights (load.py), then either continue the prompt (generate.py) or score it
(lessons/score.py), printing the text as it is produced. Reading order: this file, generate.py,
model.py, layer.py, attention.py, mlp.py, tensor_ops.py; then lessons/ and instruments/.
"""
import signal
import sys

signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(130))  # Ctrl-C while the imports below load: no traceback

import json  # noqa: E402
import os  # noqa: E402

from config import ModelError  # noqa: E402
from generate import generate  # noqa: E402
from instruments.ablate import ablate, mean_outputs  # noqa: E402
from instruments.explain import check, instruments, print_instruments, write_page  # noqa: E402
from instruments.probe import probe  # noqa: E402
from instruments.top_tokens import recording  # noqa: E402
from lessons.kv_cache import cached_step  # noqa: E402
from lessons.sampling import sampler  # noqa: E402
from lessons.score import perplexity, token_logprobs  # noqa: E402
from load import load_model, model_folder  # noqa: E402
from plumbing.arguments import parse_args  # noqa: E402
from plumbing.files import OutputError, check_writable  # noqa: E402
from plumbing.progress import progress_bar  # noqa: E402
from tokenizer import load_tokenizer  # noqa: E402


def main(argv=None):
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on, Ctrl-C is KeyboardInterrupt, below
    if (sys.stdout.encoding or "").lower().replace("-", "") != "utf8":  # a terminal that cannot show every character
        sys.stdout.reconfigure(errors="backslashreplace")
    parser, args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):  # kill, a closed terminal: stop as Ctrl-C does, cleaning up
        signal.signal(signum, lambda signum, frame: sys.exit(128 + signum))
    try:
        run(parser, args)
    except (ModelError, OutputError) as e:
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
    except OSError as e:  # writing the output failed: `> /dev/full`, a disk that filled up
        if args.debug:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"error: cannot write the output: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


def run(parser, args):
    for path in (args.attention, args.report):  # before any work, not after it
        if path:
            check_writable(path)
    folder = model_folder(args.model)
    tok = load_tokenizer(folder)  # first: it is quick, and a folder without one fails at once
    params, config = load_model(folder)
    if tok.size > config.vocab_size:
        raise ModelError(f"the tokenizer in {folder} has {tok.size} tokens but the model only {config.vocab_size}: "
                         "they come from different models")
    ids = tok.encode(args.prompt) or [tok.eos_id]  # GPT-2 samples unconditionally after <|endoftext|>
    mistake = check_with_model(args, ids, params, config, tok)
    if mistake:
        parser.error(mistake)
    window = ids[-config.n_ctx:]  # what the learning tools and experiments read
    means = mean_outputs(probe(window, params, config), args.ablate) if args.ablate_with == "mean" else None
    params = ablate(params, args.ablate, config, means)  # no heads: the same weights
    extra, seen = instruments(args, window, params, config, tok, progress_bar)
    print_instruments(args, extra, seen, window, params, config, tok)
    report = (print_score if args.score else print_generation)(args, ids, params, config, tok)
    if args.report:
        write_page(args, window, seen, params, config, tok, {**report, **extra})
    if args.json:
        ascii_only = (sys.stdout.encoding or "").lower().replace("-", "") != "utf8"  # then \u escapes keep it valid JSON
        print(json.dumps({**report, **extra}, ensure_ascii=ascii_only, allow_nan=False))  # strict JSON


def check_with_model(args, ids, params, config, tok):
    """The first option that this model makes impossible, as a sentence; None if all are fine."""
    if len(ids) > config.n_ctx and not args.score:
        return f"the prompt has {len(ids)} tokens; this model reads at most {config.n_ctx}"
    if args.stride and args.stride >= config.n_ctx:
        return (f"--stride must be less than the model's context of {config.n_ctx} tokens, so that "
                "windows overlap and every token has context")
    return check(args, ids[-config.n_ctx:], params, config, tok)


def print_generation(args, ids, params, config, tok):
    choose = sampler(args.temperature, args.top_k, args.top_p, args.seed)
    steps = []  # --show-top's record of each step, which --report shows too
    if args.show_top:
        choose = recording(choose, args.show_top, tok, steps)
        print(f"step  chosen         | the {args.show_top} likeliest next tokens (the model's probabilities)")
    elif args.report:
        choose = recording(choose, 5, tok, steps, show=False)
    step = cached_step(params, config, len(ids) + args.max_new_tokens) if args.kv_cache else None
    new_ids = generate(ids, params, config, args.max_new_tokens, choose,
                       stop_id=None if args.ignore_eos else tok.eos_id,
                       sliding_window=args.sliding_window, next_logits=step)
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
    return dict(report, top=steps) if args.show_top or args.report else report


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


if __name__ == "__main__":
    sys.exit(main())
