"""Options that cannot work together, or one of which would be silently ignored: each is a sentence (exit 2).

What needs the model or the prompt's tokens to judge is instruments/wiring.check's.
"""


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
    followers = ", ".join(args.followers[:-1]) + " and " + args.followers[-1]  # the parser's arguments.follows
    if args.target is not None and args.target_id is not None:
        return "--target and --target-id both name the token followed: give one of them"
    for option, given in (("--target", args.target), ("--target-id", args.target_id)):
        if given is not None and not args.following:
            return f"{option} names the token {followers} follow: give one of them too"
    if args.versus is not None and not args.following:
        return f"--versus sets what {followers} measure: give one of them too"
    if args.attribution_patching and args.patch is None:
        return "--attribution-patching estimates --patch's grids: give --patch CORRUPTED too"
    if args.edges and args.patch is None:
        return "--edges estimates what each edge carries from the prompt's run into CORRUPTED's: give --patch CORRUPTED too"
    if args.estimate_only and not args.attribution_patching:
        return "--estimate-only gives --attribution-patching's estimates alone: give --attribution-patching too"
    if args.attribution_patching and not args.patch_at and args.path:
        return "--attribution-patching estimates --patch-at's grids, and --path alone asks for none: give --patch-at too"
    for option, given in (("--patch-at", args.patch_at), ("--patch-positions", args.patch_positions),
                          ("--path", args.path)):
        if given is not None and args.patch is None:
            return f"{option} shapes --patch: give --patch CORRUPTED too"
    if args.patch_positions is not None and args.path is not None and args.patch_at is None:
        return ("--patch-positions chooses the positions of --patch-at's grids, and --path patches every position: "
                "give --patch-at too, or leave --patch-positions out")
    for option, given in (("--steer-against", args.steer_against), ("--steer-at", args.steer_at),
                          ("--steer-coef", args.steer_coef)):
        if given is not None and args.steer is None:
            return f"{option} shapes --steer: give --steer TEXT too"
    if args.ablate_with is not None and not args.ablate:
        return "--ablate-with says how --ablate removes heads: give --ablate too"
    if args.self_repair and not args.ablate:
        return "--self-repair splits what --ablate changed: give --ablate too"
    if (args.why_query is not None or args.why_key is not None) and args.why_attends is None:
        return "--why-query and --why-key choose the cell of --why-attends: give --why-attends L.H too"
    return unusable_text(args)


def unusable_text(args):
    """The first text option (the prompt, a name) that is empty where it needs a value, or not UTF-8, as a sentence;
    None if none. --serve checks these too: they are all of its options that are text."""
    for option, value in (("--model", args.model), ("--attention", args.attention), ("--report", args.report)):
        if value == "":
            return f"{option} needs a value, not an empty string"
    texts = {"the prompt": args.prompt, "the text of --patch": args.patch, "the text of --target": args.target,
             "the text of --versus": args.versus, "the text of --steer": args.steer,
             "the text of --steer-against": args.steer_against, "the name of --model": args.model,
             "the file name of --attention": args.attention, "the file name of --report": args.report}
    for what, value in texts.items():
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 reach Python as lone surrogates
            return f"{what} is not valid UTF-8 text"
    return None
