"""python -m exercises [check [NAME]] [--solution]: the exercises, and whether each passes (exercises/__init__.py)."""
import argparse
import difflib
import sys

from exercises.checker import project_on_path, shown, verdict

project_on_path()
from exercises import EXERCISES  # noqa: E402 -- after the project folder is on the path


def find(name):
    """The exercise called name, or numbered so; None if there is none."""
    return next((e for e in EXERCISES if name in (e.name, str(e.number))), None)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m exercises", allow_abbrev=False,
                                     description="Write GPT-2's pieces; the checker says whether they work.")
    parser.add_argument("command", nargs="?", default="list",
                        help="list (the default): every exercise and whether it passes; check: one, or all")
    parser.add_argument("name", nargs="?", help="with check: the exercise's name or number (all without it)")
    parser.add_argument("--solution", action="store_true", help="check the shipped solution instead of your file")
    args = parser.parse_args(argv)
    if args.command not in ("list", "check"):
        named = find(args.command) and f"python -m exercises check {args.command}"
        parser.error(f"{args.command!r} is not a command: {named or 'list or check'}")
    if args.name is not None and args.command != "check":
        parser.error(f"{args.name!r} goes after check: python -m exercises check {args.name}")
    if args.name is not None and find(args.name) is None:
        close = difflib.get_close_matches(args.name, [e.name for e in EXERCISES], n=3)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        print(f"error: there is no exercise {args.name!r}: {hint}python -m exercises lists them", file=sys.stderr)
        return 2
    chosen = [find(args.name)] if args.name is not None else EXERCISES
    results = [(e, *verdict(e, e.path(args.solution))) for e in chosen]
    if args.command == "list":
        show_list(results, args.solution)
    else:
        for _, _, sentence in results:
            print(sentence)
    return 0 if all(passes for _, passes, _ in results) else 1


def show_list(results, solution):
    whose = "the solution" if solution else "yours"
    print(f"  #  step  {'name':<20} {'exercise':<32} {'solution':<42} {whose}")
    for e, passes, sentence in results:
        state = "passes" if passes else ("not written yet" if "not written yet" in sentence else "fails")
        print(f"{e.number:>3}  {e.step:>4}  {e.name:<20} {shown(e.path()):<32} {shown(e.path(True)):<42} {state}")
    print("\npython -m exercises check NAME checks one and says what differs; --solution checks the solution.")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
