"""What each option's value must look like: argparse types, each raising ArgumentTypeError with the sentence the
user sees. What the model must allow (a head it has, a position of the prompt) is checked once it is loaded.
"""
import argparse
import math
import re

def quoted(text, most=40):
    """A value as a sentence quotes it, spaces and all (' yellow' is not 'yellow'): cut short when long (a number of
    5000 digits is not echoed whole)."""
    text = str(text)
    return repr(text if len(text) <= most else text[:most] + "...")


def short(text, most=1000):
    """text, if it is short enough for an option's value that is a number, a head or a range: a longer one is refused
    before any pattern reads it."""
    if len(text) > most:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is too long ({len(text)} characters) for this option's value")
    return text


def number(parse):
    """Mark an argparse type as one that reads a number: the live page's API takes a JSON number for its options
    (page_options.api_options reads the mark), so no list of the number types is kept anywhere else."""
    parse.number = True
    return parse


def integer(digits, text):
    """int(digits), where digits is a part of the value text that a pattern found to be digits: refused past 18 of them
    (int() itself refuses past 4300, in words of its own)."""
    if len(digits.strip().lstrip("+-")) > 18:
        raise argparse.ArgumentTypeError(f"{quoted(text)} holds a number too large: give whole numbers below 10**18")
    return int(digits)


def head_list(text):
    """argparse type for --ablate: "5.1,5.5" -> [(5, 1), (5, 5)], 0-based. The model checks the range."""
    heads = []
    for item in text.split(","):
        if not re.fullmatch(r"[0-9]+\.[0-9]+", item.strip()):
            raise argparse.ArgumentTypeError(f"{quoted(item.strip())} is not a head: write L.H (head H of block L, "
                                             "0-based), several separated by commas, e.g. 5.1,5.5")
        n_block, head = item.split(".")
        heads.append((integer(n_block, item), integer(head, item)))
    return sorted(set(heads))


def one_head(text):
    """argparse type for --why-attends: "1.0" -> (1, 0). The model checks the range."""
    heads = head_list(text)
    if len(heads) != 1 or "," in text:
        raise argparse.ArgumentTypeError(f"{quoted(text.strip())} is not one head: write L.H, e.g. 1.0")
    return heads[0]


def patch_kinds(text):
    """argparse type for --patch-at: "heads, pattern" -> ["heads", "pattern"]. instruments/patch.py's KINDS checks them."""
    return list(dict.fromkeys(item.strip() for item in text.split(",")))


def position_range(text):
    """argparse type for --patch-positions: "A:B" (either may be left out or negative, as in Python) -> a slice;
    a single position T is T:T+1. The prompt's length checks it. (No pattern here can backtrack: a value of 2,000
    spaces once took 37 s.)"""
    match = re.fullmatch(r"(-?[0-9]+)?\s*(:\s*(-?[0-9]+)?)?", short(text).strip())  # no two \s* side by side
    if not match or not (match[1] or match[2]):
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a range of positions: write A:B (0-based, B not included)")
    start = integer(match[1], text) if match[1] else None
    if match[2] is None:  # one position
        return slice(start, start + 1 or None)
    return slice(start, integer(match[3], text) if match[3] else None)


def receiver(text):
    """argparse type for --path: "logits", or "L.H.q" (.k, .v) -> (L, H, "q"). The model checks the range."""
    if text.strip() == "logits":
        return "logits"
    match = re.fullmatch(r"([0-9]+)\.([0-9]+)\.([qkv])", short(text).strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a receiver: write logits, or L.H.q, L.H.k or L.H.v "
                                         "(the queries, keys or values of head H of block L)")
    return integer(match[1], text), integer(match[2], text), match[3]


@number
def port(text):
    """argparse type for --port: 0 (any free port) to 65535."""
    n = whole_number(text, 0)
    if n > 65535:
        raise argparse.ArgumentTypeError(f"{n} is not a port: give 0 to 65535 (0: any free one)")
    return n


def whole_number(text, least):
    if re.fullmatch(r"[+-]?[0-9]{19,}", text.strip()):  # and int() refuses past 4300 digits, with its own words
        raise argparse.ArgumentTypeError(f"{quoted(text.strip(), 12)} is too large: give a whole number below 10**18")
    try:
        n = int(text) if text.isascii() else None  # int() reads other scripts' digits too: "١٢" is 12
    except ValueError:
        n = None
    if n is None:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a whole number (written in the digits 0 to 9)")
    if n < least:
        raise argparse.ArgumentTypeError(f"{n} is too small: give a whole number, {least} or more")
    return n


@number
def count(text):
    """argparse type for -n and --seed: a whole number, 0 or more."""
    return whole_number(text, 0)


@number
def at_least_one(text):
    """argparse type for --top-k, --show-top and --stride: a whole number, 1 or more."""
    return whole_number(text, 1)


def real(text):
    """argparse helper: a finite number."""
    try:
        x = float(text) if text.isascii() else math.nan  # float() reads other scripts' digits too
    except ValueError:
        x = math.nan
    if math.isinf(x) and re.fullmatch(r"\s*[+-]?[0-9.]+(e[+-]?[0-9]+)?\s*", text, re.I):
        raise argparse.ArgumentTypeError(f"{quoted(text.strip(), 12)} is too large a number")
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a number")
    return x


@number
def temperature(text):
    x = real(text)
    if x < 0:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is negative; 0 is greedy, 1 samples with the model's own probabilities")
    if x > 1e30:  # float32, the logits' type, ends at 3.4e38; long before, every token is equally likely
        raise argparse.ArgumentTypeError(f"{quoted(text)} is too large a temperature: give at most 1e30 (from about 1e6 on, every "
                                         "token is nearly equally likely)")
    return x


@number
def coefficient(text):
    """argparse type for --steer-coef: a number from -1000 to 1000."""
    x = real(text)
    if abs(x) > 1000:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is too large a coefficient: give -1000 to 1000 (the paper used 1 to 20; "
                                         "far beyond, the stream is only the vector and float32 overflows)")
    return x


@number
def probability(text):
    x = real(text)
    if not 0 < x <= 1:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a probability above 0 and at most 1")
    return x
