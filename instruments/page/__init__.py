"""The page: one run of main.py drawn in a browser, to explore.

page.html, page.css and js/ are the page itself, plain JavaScript with no build step (report.SCRIPTS joins
js/'s files in order). data.py gathers
what it shows of a run; report.py puts the page and those data together into one file (--report, which
works from file://); server.py serves the same page live on 127.0.0.1 (--serve), where a click on a head
runs the model again without it: its routes, each a run of main.py's chain, while guard.py holds its defences
(the framing, the origin, the timers, the connection limits).
"""
