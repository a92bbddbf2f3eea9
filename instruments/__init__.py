"""The instruments: what GPT-2 computes, made visible, and experiments that test why it says what it says.

They use the core (model.py and below); the core never imports them. The tools read the network through
probe.py, one forward pass that keeps its inside, run once per prompt, so that what they show is what
produced the model's answer. The experiments change something in the open and run the core's own
functions on the result: ablate.py changes the weights, steer.py adds to the residual stream, patch.py
and path_patch.py put numbers from one run into another and run the remaining blocks. Reading order:
probe.py; the tools (token_view, shape_trace, top_tokens, logit_lens, attention_map); the experiments
(ablate, steer, head_roles, attribute, copying, patch, path_patch, attribution_patching, edges, why_attends,
self_repair; refuse.py, what their Python functions refuse); wiring.py, which
wires them to the command line; page/, the page and its live server.

Words used the same way in every tool's output:
  block L     the L-th transformer block, 0-based; "head L.H" is head H of block L.
  layer i     the residual stream entering block i: layer 0 is the embeddings' output, layer i is
              the stream after block i - 1, layer n_layer the stream after the last block.

A new instrument that reads the model is two new files and four lines in three existing files, counted:
  1. instruments/NAME.py (new): a function (seen or ids, params, config, ...) -> plain lists, dicts and
     NamedTuples (a row with several numbers is a NamedTuple), and a print_NAME; its docstring says in a few
     sentences what it measures and why.
  2. plumbing/arguments.py, one line: its option, in add_learning_tools or add_experiments, wrapped in
     reads("probe", ...) if it reads the prompt through the probe, in follows(...) if it follows a token (its
     metric is the target's probability or logit), in terminal(...) if the terminal alone shows it. The live
     page's API and form, --target's and --versus's checks and the page's comparison take it from there, a
     number where its type is marked option_types.number: no other list of options exists.
  3. instruments/wiring.py, two lines: one in run_instruments() that computes it into extra["NAME"] (its --json
     key), one in print_instruments() that prints it. If it follows a token, `target, versus` there are
     wiring.followed's, decided once for every experiment of the run, and its JSON object names them
     ({"target", "versus", ...}).
  4. instruments/page/js/views/NAME.js (new): the section that draws J.NAME, with a sentence on how to read it,
     and, if its numbers are per head, a measure the drawing can shade its heads by.
  5. instruments/page/js/sections.js, one line: its entry in SECTIONS ({key: "NAME", draw, measure, follows}).
  Sometimes more, each a sentence where the user can cause it: a combination of options that cannot work is a
  line of plumbing/contradictions.py; what needs the model or the prompt to judge, a line of wiring.check. Then
  tests/instruments/: its numbers against an independent computation (a committed script in tests/reference);
  README.md or docs/experiments.md: its question, with output the command really printed.
  Counted on what landed: --saliency and --attribution-patching took 17 edits in 5 existing files besides their
  2 modules (the hidden lists of page_options.py among them); under this recipe the same two are their module,
  2 lines of arguments.py and 4 of wiring.py, and their drawing (the estimate beside the exact
  grid in views/patch.js; saliency's shading of the tokens in tokens.js, which no section holds).

A long loop calls plumbing.watch.stop_point() at each step, so that the live page's Stop ends it there; a
grid's outer loop goes through the progress wrapper that run_instruments passes on.

An instrument that changes the model instead of reading it reaches further, because every path that runs the
network must run the changed one. ablate.py changes the weights, which every path reads, so it needs nothing
more. steer.py, the worked example (`git log --stat -- instruments/steer.py` shows its commit), adds a vector
to the stream entering one block, which no weight can do. Its four places: steer.py; its options in
arguments.py (with a value type in option_types.py and the refusals of a lone --steer-at in
contradictions.py); wiring.py (check, run_instruments, print); the page (the form's fields, drawn from the parser,
js/views/steer.js and its entry in SECTIONS, data.py's plain continuation beside the steered one). Beyond them, every loop that runs blocks
adds it: probe.py (so every tool and the experiments' starting runs see it), one onto() line in each of
patch.py, path_patch.py and shape_trace.py, a steering term in attribute.py's parts, the steered probe in
head_roles.py's second run, and a `network` for lessons/score.py; main.chain hands the Steer to them and to
generation.
"""
