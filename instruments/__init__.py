"""The instruments: what GPT-2 computes, made visible, and experiments that test why it says what it says.

They use the core (model.py and below); the core never imports them. The tools read the network through
probe.py, one forward pass that keeps its inside, run once per prompt, so that what they show is what
produced the model's answer. The experiments change something in the open and run the core's own
functions on the result: ablate.py changes the weights, steer.py adds to the residual stream, patch.py
and path_patch.py put numbers from one run into another and run the remaining blocks. Reading order:
probe.py; the tools (token_view, shape_trace, top_tokens, logit_lens, attention_map); the experiments
(ablate, steer, head_roles, attribute, copying, patch, path_patch); wiring.py, which wires them to the
command line; page/, the page and its live server.

Words used the same way in every tool's output:
  block L     the L-th transformer block, 0-based; "head L.H" is head H of block L.
  layer i     the residual stream entering block i: layer 0 is the embeddings' output, layer i is
              the stream after block i - 1, layer n_layer the stream after the last block.

A new instrument touches four places, then its tests and README lines:
  1. instruments/NAME.py: a function (seen or ids, params, config, ...) -> plain lists, dicts and NamedTuples
     (a row with several numbers is a NamedTuple), and a print_NAME; its docstring says in a few sentences
     what it measures and why.
  2. plumbing/arguments.py: its options, declared once, in add_learning_tools or add_experiments. The live
     page's API and its form take them from there (page_options.api_options and form); what needs the model
     or the prompt to judge is a sentence in wiring.check.
  3. wiring.py: one line in run_instruments() that computes it into extra["NAME"] (its --json key), one in
     print_instruments() that prints it.
  4. page/: a section in page.js's experiments() that draws J.NAME, with a sentence on how to read it. (The
     form draws a field for each of its options by itself.)
  Then tests/: its numbers against an independent computation (a committed fixture script in the reference
  stack); README.md: its question in "Test the claim", with output the command really printed.

A long loop calls plumbing.watch.stop_point() at each step, so that the live page's Stop ends it there; a
grid's outer loop goes through the progress wrapper that run_instruments passes on.

An instrument that changes the model instead of reading it reaches further, because every path that runs the
network must run the changed one. ablate.py changes the weights, which every path reads, so it needs nothing
more. steer.py, the worked example (`git log --stat -- instruments/steer.py` shows its commit), adds a vector
to the stream entering one block, which no weight can do. Its four places: steer.py; its options in
arguments.py (with a value type in option_types.py and the refusals of a lone --steer-at in
contradictions.py); wiring.py (check, run_instruments, print); the page (page.html's fields, since drawn
from the parser, page.js's section, data.py's plain continuation beside the steered one). Beyond them, every loop that runs blocks
adds it: probe.py (so every tool and the experiments' starting runs see it), one onto() line in each of
patch.py, path_patch.py and shape_trace.py, a steering term in attribute.py's parts, the steered probe in
head_roles.py's second run, and a `network` for lessons/score.py; main.chain hands the Steer to them and to
generation.
"""
