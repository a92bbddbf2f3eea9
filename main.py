"""Run GPT-2 from the command line: python main.py "The color of the cat"

The top of the call chain: read the arguments, load the weights (load.py) and the tokenizer
(tokenizer.py), then either continue the prompt (generate.py) or score it (score.py), printing the
text as it is produced. Reading order: this file, generate.py, model.py, layer.py, attention.py,
mlp.py, tensor_ops.py.
"""
import argparse
import json
import math
import os
import sys

from config import ModelError
from generate import generate
from load import DEFAULT_MODEL, load_model, model_folder
from sampling import sampler
from score import perplexity, token_logprobs
from tokenizer import load_tokenizer


def parse_args(argv):
    parser = argparse.ArgumentParser(usage="%(prog)s PROMPT [options]  (see --help)",
                                     description="Continue a text with GPT-2, in plain NumPy.")
    parser.add_argument("prompt", help='the text to continue ("" starts from <|endoftext|>, as unconditional samples do)')
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"a Hugging Face model name (gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2, ...) "
                             f"or a folder with config.json, model.safetensors and the tokenizer (default {DEFAULT_MODEL})")
    parser.add_argument("-n", "--max-new-tokens", type=count, default=40, metavar="N",
                        help="how many tokens to generate (default 40)")
    parser.add_argument("--kv-cache", action="store_true",
                        help="keep each block's keys and values between steps: the same text, much faster (kv_cache.py)")
    parser.add_argument("--temperature", type=temperature, default=0.0, metavar="T",
                        help="0 (the default) takes the likeliest token; above 0, sample: lower is surer, higher wilder")
    parser.add_argument("--top-k", type=at_least_one, default=None, metavar="K", help="sample only among the K likeliest tokens")
    parser.add_argument("--top-p", type=probability, default=None, metavar="P",
                        help="sample only among the likeliest tokens whose probabilities add up to P")
    parser.add_argument("--seed", type=int, default=None, metavar="S", help="the same seed gives the same sampled text")
    parser.add_argument("--ignore-eos", action="store_true", help="go on after <|endoftext|> instead of stopping")
    parser.add_argument("--sliding-window", action="store_true",
                        help="past the model's context, go on reading only the last n_ctx tokens instead of stopping")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON: the ids and the text")
    parser.add_argument("--score", action="store_true",
                        help="instead of generating, print each prompt token's log-probability and the perplexity")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    args = parser.parse_args(argv)
    if args.temperature == 0 and (args.top_k or args.top_p):
        parser.error("--top-k and --top-p shape sampling: give a --temperature above 0 too")
    try:
        args.prompt.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 reach Python as lone surrogates
        parser.error("the prompt is not valid UTF-8 text")
    return parser, args


def count(text):
    """argparse type for -n: a whole number, zero or more."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} is negative; give how many tokens to generate")
    return n


def real(text):
    """argparse helper: a finite number."""
    try:
        x = float(text)
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    return x


def temperature(text):
    x = real(text)
    if x < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; 0 is greedy, 1 samples with the model's own probabilities")
    return x


def probability(text):
    x = real(text)
    if not 0 < x <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability above 0 and at most 1")
    return x


def at_least_one(text):
    n = count(text)
    if n < 1:
        raise argparse.ArgumentTypeError("0 tokens leave nothing to sample from")
    return n


def main(argv=None):
    parser, args = parse_args(argv)
    try:
        folder = model_folder(args.model)
        tok = load_tokenizer(folder)  # first: it is quick, and a folder without one fails at once
        params, config = load_model(folder)
        ids = tok.encode(args.prompt) or [tok.eos_id]  # GPT-2 samples unconditionally after <|endoftext|>
        if len(ids) > config.n_ctx:
            parser.error(f"the prompt has {len(ids)} tokens; this model reads at most {config.n_ctx}")
        if args.score:
            print_score(ids, params, config, tok, args.json)
        else:
            print_generation(args, ids, params, config, tok)
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
    prompt = args.prompt
    write(prompt)
    choose = sampler(args.temperature, args.top_k, args.top_p, args.seed)
    new_ids = stream(generate(ids, params, config, args.max_new_tokens, choose,
                              stop_id=None if args.ignore_eos else tok.eos_id,
                              sliding_window=args.sliding_window, kv_cache=args.kv_cache), tok)
    text = prompt + tok.decode(new_ids)
    write("\n")
    if len(new_ids) < args.max_new_tokens and new_ids[-1:] != [tok.eos_id]:
        print(f"note: stopped after {len(new_ids)} new tokens: the model reads at most {config.n_ctx} tokens",
              file=sys.stderr)
    if args.json:
        print(json.dumps({"model": args.model, "prompt_ids": ids, "generated_ids": new_ids, "text": text}, ensure_ascii=False))


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


def print_score(ids, params, config, tok, as_json):
    logprobs = token_logprobs(ids, params, config)
    ppl = perplexity(logprobs)
    if as_json:
        print(json.dumps({"ids": ids, "logprobs": logprobs, "perplexity": ppl}, ensure_ascii=False))
        return
    for i, lp in zip(ids, logprobs):
        print(f"{i:>6}  {tok.decode([i])!r:<20} {'' if lp is None else f'{lp:9.4f}'}")
    print(f"perplexity: {ppl:.4f}" if ppl is not None else "perplexity: needs at least two tokens")


if __name__ == "__main__":
    sys.exit(main())
