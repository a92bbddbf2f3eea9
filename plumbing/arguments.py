"""The command line of main.py: its options, and a clear error for every value it cannot use.

A mistake found here is a UsageError: main.py prints "usage: ..." and its one sentence, and exits with
status 2, as argparse does; the live page's server answers it with 400 and the same sentence. The
server's requests are options too: as_argv turns one into the command line it stands for, so that both
go through the same checks.
"""
import argparse
import json
import math
import os
import re
import sys

from config import DEFAULT_MODEL


class UsageError(Exception):
    """A mistake in the options, as one sentence."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own mistakes too: raised, not printed, so that the server can answer them
        words = re.fullmatch(r"argument (-\w)/--\w+: ignored explicit argument '(.*)'", message)  # -hello: -h, then "ello"
        unknown = re.fullmatch(r"unrecognized arguments: (-\S*).*", message)
        if words or unknown:
            raise self.not_an_option(words[1] + words[2] if words else unknown[1])
        raise UsageError(message)

    def not_an_option(self, word):
        return UsageError(f"{word!r} is not an option; a prompt that starts with - goes after --, as in: "
                          f"{self.prog} -- {word!r}")


class Once(argparse.Action):
    """An option that takes one value: given twice, it is a mistake (rather than the last one silently kept)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if self.dest in vars(namespace).get("_given", ()):  # parse_args removes the note once parsing is done
            raise argparse.ArgumentError(self, "is given twice: give it once")
        namespace._given = vars(namespace).get("_given", set()) | {self.dest}
        setattr(namespace, self.dest, values)


class Heads(argparse.Action):
    """--ablate: given twice, the heads of both."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, sorted(set(getattr(namespace, self.dest)) | set(values)))


def command_line():
    parser = Parser(prog=os.environ.get("GPT2_COMMAND"),  # run.sh sets it to the name typed
                    usage="%(prog)s PROMPT [options]  (see --help)",
                    description="Continue a text with GPT-2, in plain NumPy, or look inside while it does.",
                    epilog="Heads are L.H, head H of block L, 0-based. A prompt that starts with - goes after --. "
                           "Exit codes: 0 done, 1 a problem with the model, the hub or a file, 2 a mistake in the "
                           "options, 130 Ctrl-C. README.md walks through the code; docs/ has the rest.",
                    formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=30))
    add_run_options(parser)
    add_learning_tools(parser.add_argument_group("learning tools: what GPT-2 does with the prompt"))
    add_experiments(parser.add_argument_group("experiments: why GPT-2 says what it says"))
    serving = parser.add_argument_group("the live page")
    serving.add_argument("--serve", action="store_true",
                         help="a page on 127.0.0.1 for all of the above; click heads away")
    serving.add_argument("--port", action=Once, type=port, default=None, metavar="N",
                         help=f"where --serve listens (default {DEFAULT_PORT}; 0: any free port)")
    return parser


DEFAULT_PORT = 8765


def parse_args(parser, argv):
    """The options of argv, checked; raises UsageError."""
    words = sys.argv[1:] if argv is None else argv
    if "--" in words and len(words) - words.index("--") > 2:
        raise UsageError("after --, everything is the prompt: give one prompt there, and the options before --")
    for word in words[:words.index("--")] if "--" in words else words:
        if word.startswith("-h") and word != "-h":  # -hello: Python 3.13's argparse reads -h and shows the help
            raise parser.not_an_option(word)
    args = parser.parse_args(argv)
    vars(args).pop("_given", None)
    if args.serve:
        given = ["PROMPT" if dest == "prompt" else "--" + dest.replace("_", "-") for dest, value in vars(args).items()
                 if dest not in ("serve", "port", "model", "debug") and value != parser.get_default(dest)]
        if given:
            parser.error(f"--serve takes only --model and --port: the prompt and the rest are chosen on the page "
                         f"(leave out {', '.join(given)})")
        args.port = DEFAULT_PORT if args.port is None else args.port
        return args
    if args.port is not None:
        parser.error("--port is where --serve listens: give --serve too")
    if args.prompt_file is not None:
        if args.prompt is not None:
            parser.error("give the prompt or --prompt-file, not both")
        args.prompt = read_prompt(parser, args.prompt_file)
    elif args.prompt is None:
        parser.error("give a prompt (\"\" starts from <|endoftext|>), or --prompt-file FILE")
    mistake = contradiction(args)
    if mistake:
        parser.error(mistake)
    if args.max_new_tokens is None:
        args.max_new_tokens = 40
    return args


def add_run_options(parser):
    parser.add_argument("prompt", nargs="?", help='the text to continue ("" starts from <|endoftext|>)')
    what = parser.add_argument_group("the prompt and the model")
    what.add_argument("--prompt-file", action=Once, metavar="FILE",
                      help="read the prompt from a UTF-8 file of at most 1 MiB (-: stdin)")
    what.add_argument("--model", action=Once, default=DEFAULT_MODEL,
                      help="a hub name (default gpt2; gpt2-medium, owner/name...) or a folder")
    how = parser.add_argument_group("generation")
    how.add_argument("-n", "--max-new-tokens", action=Once, type=count, default=None, metavar="N",
                     help="how many tokens to generate (default 40)")
    how.add_argument("--kv-cache", action="store_true",
                     help="keep keys and values between steps: the same ids, faster")
    how.add_argument("--temperature", action=Once, type=temperature, default=0.0, metavar="T",
                     help="0 (the default) takes the likeliest token; above 0 samples")
    how.add_argument("--top-k", action=Once, type=at_least_one, default=None, metavar="K",
                     help="sample only among the K likeliest tokens")
    how.add_argument("--top-p", action=Once, type=probability, default=None, metavar="P",
                     help="sample only among the likeliest tokens worth P together")
    how.add_argument("--seed", action=Once, type=count, default=None, metavar="S",
                     help="the same seed gives the same sampled text")
    how.add_argument("--ignore-eos", action="store_true", help="go on after <|endoftext|>")
    how.add_argument("--sliding-window", action="store_true",
                     help="past the context, go on reading the last n_ctx tokens")
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument("--score", action="store_true",
                         help="instead: each token's log-probability, and the perplexity")
    scoring.add_argument("--stride", action=Once, type=at_least_one, default=None, metavar="S",
                         help="windows S tokens apart, past the context (default n_ctx/2)")
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one line of JSON on stdout (ids, text, every result); the text goes to stderr")
    output.add_argument("--debug", action="store_true", help="show the traceback of an error")


def add_learning_tools(group):
    group.add_argument("--tokens", action="store_true", help="how the prompt is cut into tokens, byte by byte")
    group.add_argument("--bpe", action="store_true", help="byte-pair encoding at work on it (lessons/bpe.py)")
    group.add_argument("--trace", action="store_true", help="the shapes at each stage of the forward pass")
    group.add_argument("--show-top", action=Once, type=at_least_one, default=None, metavar="K",
                       help="at each step, the K likeliest next tokens")
    group.add_argument("--lens", action="store_true", help="the logit lens: each layer's guess at the last position")
    group.add_argument("--attention", action=Once, metavar="FILE.svg", help="draw each block's attention")
    group.add_argument("--report", action=Once, metavar="FILE.html",
                       help="one page of it all to explore in a browser, offline")


PATCH_KINDS = ("resid", "attn", "mlp", "heads", "pattern", "values")


def add_experiments(group):
    group.add_argument("--heads", action="store_true",
                       help="score each head: previous-token, first-token, induction, duplicate")
    group.add_argument("--copying", action="store_true", help="does each head write the token it attends to?")
    group.add_argument("--ablate", action=Heads, type=head_list, default=[], metavar="L.H[,L.H...]",
                       help="remove these heads from every forward pass")
    group.add_argument("--ablate-with", action=Once, choices=("zero", "mean"), default=None,
                       help="an ablated head outputs zero (the default) or its mean")
    group.add_argument("--attribute", action="store_true",
                       help="direct logit attribution: what wrote the target's logit")
    group.add_argument("--patch", action=Once, metavar="CORRUPTED",
                       help="activation patching: put the prompt's run back into CORRUPTED's")
    group.add_argument("--patch-at", action=Once, type=patch_kinds, default=None, metavar="WHAT[,...]",
                       help="what: resid (the default), attn, mlp, heads, pattern, values")
    group.add_argument("--patch-positions", action=Once, type=position_range, default=None, metavar="A:B",
                       help="only positions A to B-1 (--patch-positions=-5: the last five)")
    group.add_argument("--path", action=Once, type=receiver, default=None, metavar="RECEIVER",
                       help="path patching to logits, or to L.H.q, L.H.k, L.H.v")
    group.add_argument("--target", action=Once, metavar="TEXT",
                       help="the token followed (one token; default: the model's next)")
    group.add_argument("--versus", action=Once, metavar="TEXT",
                       help="measure logit(target) - logit(TEXT) instead of P(target)")


def contradiction(args):
    """The first option that cannot work as given, or would be silently ignored, as a sentence; None if none."""
    if args.temperature == 0 and (args.top_k or args.top_p or args.seed is not None):
        return "--top-k, --top-p and --seed shape sampling: give a --temperature above 0 too"
    if args.stride is not None and not args.score:
        return "--stride sets the windows of --score: give --score too"
    generation_only = {"-n": args.max_new_tokens is not None, "--show-top": args.show_top is not None,
                       "--kv-cache": args.kv_cache, "--sliding-window": args.sliding_window, "--ignore-eos": args.ignore_eos,
                       "--temperature": args.temperature > 0}
    if args.score and any(generation_only.values()):
        return "--score reads the prompt and generates nothing: leave out " + ", ".join(
            option for option, given in generation_only.items() if given)
    del generation_only["-n"]
    if args.max_new_tokens == 0 and any(generation_only.values()):
        return "-n 0 generates nothing: leave out " + ", ".join(option for option, given in generation_only.items() if given)
    if args.target is not None and not (args.attribute or args.patch is not None):
        return "--target names the token --attribute and --patch follow: give one of them too"
    if args.versus is not None and not (args.attribute or args.patch is not None):
        return "--versus sets what --attribute and --patch measure: give one of them too"
    for option, given in (("--patch-at", args.patch_at), ("--patch-positions", args.patch_positions),
                          ("--path", args.path)):
        if given is not None and args.patch is None:
            return f"{option} shapes --patch: give --patch CORRUPTED too"
    if args.ablate_with is not None and not args.ablate:
        return "--ablate-with says how --ablate removes heads: give --ablate too"
    for option, value in (("--model", args.model), ("--attention", args.attention), ("--report", args.report)):
        if value == "":
            return f"{option} needs a value, not an empty string"
    texts = {"the prompt": args.prompt, "the text of --patch": args.patch, "the text of --target": args.target,
             "the text of --versus": args.versus, "the name of --model": args.model,
             "the file name of --attention": args.attention, "the file name of --report": args.report}
    for what, value in texts.items():
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 reach Python as lone surrogates
            return f"{what} is not valid UTF-8 text"
    return None


LONGEST_PROMPT = 1 << 20  # bytes read from --prompt-file: a book's chapter is a tenth of it


def read_prompt(parser, path):
    """The text of --prompt-file, at most LONGEST_PROMPT bytes (tokenizing costs about 130 bytes of memory per
    byte of text: an endless /dev/zero, or a 50 MB file, would take gigabytes before any check)."""
    try:
        path.encode("utf-8")
        if path == "-" and sys.stdin is None:
            parser.error("--prompt-file - reads standard input, which is closed")
        with open(sys.stdin.fileno() if path == "-" else path, "rb", closefd=path != "-") as f:
            data = f.read(LONGEST_PROMPT + 1)
    except UnicodeEncodeError:
        parser.error("the file name of --prompt-file is not valid UTF-8 text")
    except OSError as e:
        parser.error(f"cannot read the prompt from {path}: {e.strerror}")
    if len(data) > LONGEST_PROMPT:
        parser.error(f"the prompt in {path} is longer than {LONGEST_PROMPT // (1 << 20)} MiB; give a part of it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        parser.error(f"the prompt in {path} is not UTF-8 text")


def head_list(text):
    """argparse type for --ablate: "5.1,5.5" -> [(5, 1), (5, 5)], 0-based. The model checks the range."""
    heads = []
    for item in text.split(","):
        if not re.fullmatch(r"[0-9]+\.[0-9]+", item.strip()):
            raise argparse.ArgumentTypeError(f"{item.strip()!r} is not a head: write L.H (head H of block L, "
                                             "0-based), several separated by commas, e.g. 5.1,5.5")
        n_block, head = item.split(".")
        heads.append((int(n_block), int(head)))
    return sorted(set(heads))


def patch_kinds(text):
    """argparse type for --patch-at: "heads,pattern" -> ["heads", "pattern"], in the order the grids are shown."""
    kinds = {item.strip() for item in text.split(",")}
    unknown = sorted(kinds - set(PATCH_KINDS))
    if unknown:
        raise argparse.ArgumentTypeError(f"{unknown[0]!r} cannot be patched: choose among {', '.join(PATCH_KINDS)}")
    return [kind for kind in PATCH_KINDS if kind in kinds]


def position_range(text):
    """argparse type for --patch-positions: "A:B" (either may be left out or negative, as in Python) -> a slice;
    a single position T is T:T+1. The prompt's length checks it."""
    match = re.fullmatch(r"\s*(-?[0-9]+)?\s*(:\s*(-?[0-9]+)?)?\s*", text)
    if not match or not (match[1] or match[2]):
        raise argparse.ArgumentTypeError(f"{text!r} is not a range of positions: write A:B (0-based, B not included)")
    start = int(match[1]) if match[1] else None
    if match[2] is None:  # one position
        return slice(start, start + 1 or None)
    return slice(start, int(match[3]) if match[3] else None)


def receiver(text):
    """argparse type for --path: "logits", or "L.H.q" (.k, .v) -> (L, H, "q"). The model checks the range."""
    if text.strip() == "logits":
        return "logits"
    match = re.fullmatch(r"\s*([0-9]+)\.([0-9]+)\.([qkv])\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a receiver: write logits, or L.H.q, L.H.k or L.H.v "
                                         "(the queries, keys or values of head H of block L)")
    return int(match[1]), int(match[2]), match[3]


def port(text):
    """argparse type for --port: 0 (any free port) to 65535."""
    n = whole_number(text, 0)
    if n > 65535:
        raise argparse.ArgumentTypeError(f"{n} is not a port: give 0 to 65535 (0: any free one)")
    return n


def whole_number(text, least):
    if re.fullmatch(r"\s*[+-]?[0-9]{19,}\s*", text):  # and int() refuses past 4300 digits, with its own words
        raise argparse.ArgumentTypeError(f"{text.strip()[:12]}... is too large: give a whole number below 10**18")
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < least:
        raise argparse.ArgumentTypeError(f"{n} is too small: give a whole number, {least} or more")
    return n


def count(text):
    """argparse type for -n and --seed: a whole number, 0 or more."""
    return whole_number(text, 0)


def at_least_one(text):
    """argparse type for --top-k, --show-top and --stride: a whole number, 1 or more."""
    return whole_number(text, 1)


def real(text):
    """argparse helper: a finite number."""
    try:
        x = float(text)
    except ValueError:
        x = math.nan
    if math.isinf(x) and re.fullmatch(r"\s*[+-]?[0-9.]+(e[+-]?[0-9]+)?\s*", text, re.I):
        raise argparse.ArgumentTypeError(f"{text.strip()[:12]}{'...' if len(text.strip()) > 12 else ''} is too large a number")
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number")
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


# The live page's options are the command line's, "_" for "-" (a request {"top_k": 5} is --top-k=5), except
# what prints only to a terminal or writes files. A value is what the command line takes: text, a number, or
# true for a flag. Nothing else lists them: a new option of the parser is an option of the page.
TERMINAL_ONLY = {"help", "prompt_file", "model", "json", "debug", "tokens", "bpe", "trace", "attention", "report",
                 "serve", "port"}
NUMBERS = ("count", "at_least_one", "temperature", "probability", "coefficient")  # the parser's types that take a number


def api_options(parser):
    """{key: "text" | "number" | "flag"} for every option of the page, the prompt first."""
    options = {"prompt": "text"}
    for action in parser._actions:  # argparse keeps no other public list of them
        if action.dest in TERMINAL_ONLY or not action.option_strings:
            continue
        kind = "flag" if action.nargs == 0 else "number" if getattr(action.type, "__name__", "") in NUMBERS else "text"
        options[action.dest] = kind
    return options


def as_argv(options, parser):
    """The command line that a request's options stand for, prompt last; a request that is not options raises
    UsageError, and the command line's own checks do the rest."""
    api = api_options(parser)
    if not isinstance(options, dict):
        raise UsageError('the options must be a JSON object, such as {"prompt": "The color of the cat", "heads": true}')
    argv = []
    for key, value in options.items():
        kind, option = api.get(key), "--" + key.replace("_", "-")
        if kind is None:
            raise UsageError(f"{key!r} is not an option of the page; they are {', '.join(api)}")
        if kind == "flag" and not isinstance(value, bool):
            raise UsageError(f"{key} is a flag: give true or false, not {json.dumps(value)[:40]}")
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float, str))):
            raise UsageError(f"{key} takes a number, not {json.dumps(value)[:40]}")
        if kind == "text" and not isinstance(value, str):
            raise UsageError(f"{key} takes text, as the command line does, not {json.dumps(value)[:40]}")
        if key == "prompt":
            continue
        if kind == "flag":
            argv += [option] if value else []
        else:
            argv.append(f"{option}={value}")  # with "=": a value may start with "-"
    if "prompt" not in options:
        raise UsageError('give a prompt ("" starts from <|endoftext|>)')
    return argv + ["--", options["prompt"]]
