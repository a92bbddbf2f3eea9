"""The live page's requests are main.py's options: as_argv turns one into the command line it stands for, so that
both go through the same checks (parse_args).
"""
import json

from plumbing.arguments import UsageError
from plumbing.option_types import quoted

# The live page's options are the command line's, "_" for "-" (a request {"top_k": 5} is --top-k=5), except
# those the parser marks as the terminal's alone (arguments.terminal: what prints only to a terminal or writes
# files). A value is what the command line takes: text, a number (a type option_types.number marks), or true for a
# flag. Nothing else lists them: a new option of the parser is an option of the page.


def api_options(parser):
    """{key: "text" | "number" | "flag"} for every option of the page, the prompt first."""
    options = {"prompt": "text"}
    for action in parser._actions:  # argparse keeps no other public list of them
        if getattr(action, "terminal", False) or not action.option_strings:
            continue
        kind = "flag" if action.nargs == 0 else "number" if getattr(action.type, "number", False) else "text"
        options[action.dest] = kind
    return options


def form(parser):
    """The live page's form, as its data: the parser's groups that hold options of the page, in the parser's order,
    each [title, [field, ...]], a field {"key", "kind", "help", "metavar", "default", "choices", "follows"} (follows:
    an experiment that follows a token, arguments.follows). The page draws
    its form from this alone: an option added to the parser is a field of the form."""
    api, groups = api_options(parser), []
    for group in parser._action_groups:  # argparse keeps no other public list of them
        fields = [{"key": action.dest, "kind": api[action.dest], "help": action.help, "metavar": action.metavar,
                   "follows": getattr(action, "follows", False),
                   "default": action.default if isinstance(action.default, (str, int, float)) else None,
                   "choices": list(action.choices) if action.choices else None}
                  for action in group._group_actions if action.dest in api]
        if fields:
            groups.append([group.title, fields])
    return groups


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
            raise UsageError(f"{quoted(key)} is not an option of the page; they are {', '.join(api)}")
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
