"""The command line of main.py: its options, declared once, and parse_args, which checks them.

A mistake found here is a UsageError: main.py prints "usage: ..." and its one sentence, and exits with
status 2, as argparse does; the live page's server answers it with 400 and the same sentence. Beside this
file: option_types.py (what each value must look like), contradictions.py (options that cannot go together),
prompt_file.py (--prompt-file), page_options.py (the page's requests, which are these options too).
"""
import argparse
import difflib
import os
import re
import sys

from config import DEFAULT_MODEL
from plumbing.contradictions import contradiction, unusable_text
from plumbing.option_types import (at_least_one, coefficient, count, head_list, one_head, patch_kinds, port,
                                   position_range, probability, quoted, receiver, temperature)
from plumbing.prompt_file import read_prompt


class UsageError(Exception):
    """A mistake in the options, as one sentence."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own mistakes too: raised, not printed, so that the server can answer them
        words = re.fullmatch(r"argument (-\w)/--\w+: ignored explicit argument '(.*)'", message)  # -hello: -h, then "ello"
        unknown = re.fullmatch(r"unrecognized arguments: (-\S*).*", message)
        if words or unknown:
            raise self.not_an_option(words[1] + words[2] if words else unknown[1])
        raise UsageError(re.sub(r"'([^']{40})[^']+'", r"'\1...'", message))  # argparse quotes a value whole, however long

    def not_an_option(self, word):
        """A word that looks like an option and is none: the options it is closest to (a typo, or the start of a name:
        no option is taken by an abbreviation), else how to give a prompt that starts with - (as -hello surely is)."""
        name = word.split("=")[0] if word.startswith("--") else ""
        options = [option for action in self._actions for option in action.option_strings if option.startswith("--")]
        near = [option for option in options if option.startswith(name) and len(name) > 2]
        near = near[:3] or difflib.get_close_matches(name, options, n=3, cutoff=0.75)
        if near:
            return UsageError(f"{quoted(word)} is not an option; did you mean {' or '.join(near)}?")
        return UsageError(f"{quoted(word)} is not an option; a prompt that starts with - goes after --, as in: "
                          f"{self.prog} -- {quoted(word)}")


def given(parser, action, values):
    """The value as typed. Python's argparse (before 3.13) drops a value that is "--" (--patch=--) and hands on [],
    unconverted: it is "--" again, through the option's own type, so that it is used or refused as any other."""
    if values != []:
        return values
    value = parser._get_value(action, "--")  # noqa: SLF001 -- argparse's own conversion and check
    parser._check_value(action, value)  # noqa: SLF001 -- --ablate-with=-- is refused as any other value not a choice
    return value


class Once(argparse.Action):
    """An option that takes one value: given twice, it is a mistake (rather than the last one silently kept)."""

    def __call__(self, parser, namespace, values, option_string=None):
        values = given(parser, self, values)
        if self.dest in vars(namespace).get("_given", ()):  # parse_args removes the note once parsing is done
            raise argparse.ArgumentError(self, "is given twice: give it once")
        namespace._given = vars(namespace).get("_given", set()) | {self.dest}
        setattr(namespace, self.dest, values)


class Heads(argparse.Action):
    """--ablate: given twice, the heads of both."""

    def __call__(self, parser, namespace, values, option_string=None):
        values = given(parser, self, values)
        setattr(namespace, self.dest, sorted(set(getattr(namespace, self.dest)) | set(values)))


def typed_command(default):
    """The command the user typed (run.sh sets GPT2_COMMAND to it), as text that can be written anywhere: the bytes
    of a folder name that are not UTF-8 (which reach Python as lone surrogates) become escapes."""
    command = os.environ.get("GPT2_COMMAND", default)
    return command.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def command_line():
    parser = Parser(prog=typed_command(None) if "GPT2_COMMAND" in os.environ else None, allow_abbrev=False,
                    usage="%(prog)s PROMPT [options]  (see --help)",
                    description="Continue a text with GPT-2, in plain NumPy, or look inside while it does.",
                    epilog="Heads are L.H, head H of block L, 0-based. A prompt that starts with - goes after --. "
                           "Exit codes: 0 done, 1 a problem with the model, the hub or a file, 2 a mistake in the "
                           "options, 130 Ctrl-C. README.md walks through the code; docs/ has the rest.",
                    formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=30))
    add_run_options(parser)
    add_learning_tools(parser.add_argument_group("learning tools: what GPT-2 does with the prompt"))
    add_experiments(parser.add_argument_group("experiments: why GPT-2 says what it says"))
    add_steering(parser.add_argument_group("steering: every run of a model pushed toward a text (activation addition)"))
    serving = parser.add_argument_group("the live page")
    terminal(serving.add_argument("--serve", action="store_true",
                                  help="a page on 127.0.0.1 for all of the above; click heads away"))
    terminal(serving.add_argument("--port", action=Once, type=port, default=None, metavar="N",
                                  help=f"where --serve listens (default {DEFAULT_PORT}; 0: any free port)"))
    terminal(next(action for action in parser._actions if action.dest == "help"))  # noqa: SLF001 -- argparse's own
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
        unusable = unusable_text(args)
        if unusable:
            parser.error(unusable)
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
    followers = [action for action in parser._actions if getattr(action, "follows", False)]  # noqa: SLF001
    args.followers = [action.option_strings[-1] for action in followers]
    args.following = [action.option_strings[-1] for action in followers if getattr(args, action.dest) not in (None, False)]
    mistake = contradiction(args)
    if mistake:
        parser.error(mistake)
    if args.max_new_tokens is None:
        args.max_new_tokens = 40
    if args.steer is not None and args.steer_coef is None:
        args.steer_coef = 5.0
    args.reading = {action.option_strings[-1]: action.reads for action in parser._actions  # noqa: SLF001
                    if getattr(action, "reads", None) and getattr(args, action.dest) not in (None, False)}
    return args


def add_run_options(parser):
    what = parser.add_argument_group("the prompt and the model")
    what.add_argument("prompt", nargs="?", help='the text to continue ("" starts from <|endoftext|>)')
    terminal(what.add_argument("--prompt-file", action=Once, metavar="FILE",
                               help="read the prompt from a UTF-8 file of at most 1 MiB (-: stdin)"))
    terminal(what.add_argument("--model", action=Once, default=DEFAULT_MODEL,
                               help="a hub name (default gpt2; gpt2-medium, owner/name...) or a folder"))
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
    terminal(output.add_argument("--json", action="store_true",
                                 help="stdout holds one line of JSON, every result; the text: stderr"))
    terminal(output.add_argument("--debug", action="store_true", help="show the traceback of an error"))


def terminal(action):
    """Mark an option of the terminal alone: it prints only there or writes files, so the live page neither shows
    nor takes it (page_options.api_options reads the mark)."""
    action.terminal = True
    return action


def follows(action):
    """Mark an experiment that follows a token (its metric is the target's probability or logit): --target and
    --versus need one of them, and instruments/wiring.followed decides the token once for all of them. parse_args
    lists them as args.followers, and those given as args.following."""
    action.follows = True
    return action


def reads(what, action):
    """Mark an option whose tool reads the prompt as one window of at most n_ctx tokens ("window"), or through its
    probe too ("probe"), so that nothing else need list them (parse_args sums them up as args.reading)."""
    action.reads = what
    return action


def add_learning_tools(group):
    terminal(reads("window", group.add_argument("--tokens", action="store_true",
                                                help="how the prompt is cut into tokens, byte by byte")))
    terminal(group.add_argument("--bpe", action="store_true", help="byte-pair encoding at work on it (lessons/bpe.py)"))
    terminal(reads("window", group.add_argument("--trace", action="store_true",
                                                help="the shapes at each stage of the forward pass")))
    group.add_argument("--show-top", action=Once, type=at_least_one, default=None, metavar="K",
                       help="at each step, the K likeliest next tokens")
    reads("probe", group.add_argument("--lens", action="store_true",
                                      help="the logit lens: each layer's guess at the last position"))
    terminal(reads("probe", group.add_argument("--attention", action=Once, metavar="FILE.svg",
                                               help="draw each block's attention")))
    terminal(reads("window", group.add_argument("--report", action=Once, metavar="FILE.html",
                                                help="one page of it all to explore in a browser, offline")))


def add_experiments(group):
    reads("probe", group.add_argument("--heads", action="store_true",
                                      help="score each head: previous-token, first-token, induction, duplicate"))
    reads("probe", group.add_argument("--copying", action="store_true",
                                      help="does each head write the token it attends to?"))
    group.add_argument("--ablate", action=Heads, type=head_list, default=[], metavar="L.H[,L.H...]",
                       help="remove these heads from every forward pass")
    group.add_argument("--ablate-with", action=Once, choices=("zero", "mean"), default=None,
                       help="an ablated head outputs zero (the default) or its mean")
    follows(reads("probe", group.add_argument("--attribute", action="store_true",
                                              help="direct logit attribution: what wrote the target's logit")))
    follows(reads("probe", group.add_argument("--patch", action=Once, metavar="CORRUPTED",
                                              help="activation patching: put the prompt's run back into CORRUPTED's")))
    group.add_argument("--patch-at", action=Once, type=patch_kinds, default=None, metavar="WHAT[,...]",
                       help="what: resid (the default), attn, mlp, heads, pattern, values")
    group.add_argument("--patch-positions", action=Once, type=position_range, default=None, metavar="A:B",
                       help="only positions A to B-1 (--patch-positions=-5: the last five)")
    group.add_argument("--path", action=Once, type=receiver, default=None, metavar="RECEIVER",
                       help="path patching to logits, or to L.H.q, L.H.k, L.H.v")
    reads("probe", group.add_argument("--attribution-patching", action="store_true",
                                      help="--patch's grids estimated from one backward pass, beside them"))
    follows(reads("probe", group.add_argument("--edges", action="store_true",
                                              help="with --patch: every edge of the circuit, estimated at once")))
    group.add_argument("--estimate-only", action="store_true",
                       help="--attribution-patching's estimates alone, no exact grid")
    follows(reads("probe", group.add_argument("--saliency", action="store_true",
                                              help="gradient times input: each prompt token's share of the metric")))
    reads("probe", group.add_argument("--why-attends", action=Once, type=one_head, default=None, metavar="L.H",
                                      help="why head L.H attends where it does: its score split by what wrote it"))
    group.add_argument("--why-query", action=Once, type=count, default=None, metavar="Q",
                       help="--why-attends's query position (default: the last)")
    group.add_argument("--why-key", action=Once, type=count, default=None, metavar="K",
                       help="--why-attends's key position (default: where the query attends most)")
    follows(reads("probe", group.add_argument("--self-repair", action="store_true",
                                              help="with --ablate: who made up for the removed heads, exactly")))
    group.add_argument("--target", action=Once, metavar="TEXT",
                       help="the token followed (one token; default: the model's next)")
    group.add_argument("--target-id", action=Once, type=count, default=None, metavar="ID",
                       help="the token followed, by its id (for a token that is no text)")
    group.add_argument("--versus", action=Once, metavar="TEXT",
                       help="measure logit(target) - logit(TEXT) instead of P(target)")


def add_steering(group):
    group.add_argument("--steer", action=Once, metavar="TEXT",
                       help="activation addition: every run pushed toward TEXT's residual stream")
    group.add_argument("--steer-against", action=Once, metavar="TEXT",
                       help="...and away from this text's (default: as many spaces)")
    group.add_argument("--steer-at", action=Once, type=count, default=None, metavar="L",
                       help="the block whose input is steered (default n_layer // 2)")
    group.add_argument("--steer-coef", action=Once, type=coefficient, default=None, metavar="C",
                       help="how hard: the vector's multiple (default 5; 0: the plain model)")
